"""From an event to messages: which template, to whom, over which channels, exactly once each."""

import hashlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from cloudmart_common import sealed
from cloudmart_common.call_policy import UpstreamUnavailable
from cloudmart_common.events import utc_timestamp
from cloudmart_common.http_client import ServiceClient
from cloudmart_common.kafka_consumer import ConsumedEvent, PoisonEvent
from cloudmart_notifications.channels import Channel, ChannelError, ChannelName, Message
from cloudmart_notifications.errors import ChannelUnavailable, TemplateDataInvalid
from cloudmart_notifications.repository import Entry, SentLog
from cloudmart_notifications.settings import Settings
from cloudmart_notifications.templating import (
    TEMPLATE_OF_EVENT,
    Templates,
    TemplateSpec,
    spec_named,
)

log = logging.getLogger(__name__)

# Known events that deliberately send nothing: order_paid already confirms the payment to the
# buyer, and order_cancelled tells them about a failed one. One purchase, one email each.
SILENT_EVENTS = frozenset({"payment_succeeded", "payment_failed"})

NOTIFICATIONS_SENT = Counter(
    "notifications_sent_total",
    "Deliveries by channel, event type, outcome",
    ["channel", "event_type", "outcome"],
)


@dataclass(frozen=True)
class Delivery:
    channel: ChannelName
    recipient: str
    data: Mapping[str, Any]


class ContactCache:
    """Users' contact data for `ttl` seconds, at most `size` users (the oldest go first)."""

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self._ttl, self._size = ttl, size
        self._entries: OrderedDict[int, tuple[float, dict[str, Any]]] = OrderedDict()

    def get(self, user_id: int) -> dict[str, Any] | None:
        entry = self._entries.get(user_id)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            del self._entries[user_id]
            return None
        return entry[1]

    def put(self, user_id: int, contact: dict[str, Any]) -> None:
        if self._ttl <= 0:
            return
        self._entries[user_id] = (time.monotonic() + self._ttl, contact)
        self._entries.move_to_end(user_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)


class Notifier:
    def __init__(
        self,
        settings: Settings,
        templates: Templates,
        channels: Mapping[ChannelName, Channel],
        sent_log: SentLog,
        users: ServiceClient,
    ) -> None:
        self._settings = settings
        self._templates = templates
        self._channels = channels
        self._log = sent_log
        self._users = users
        # One order sends several emails to one buyer within seconds; a round trip to users
        # for each was a third of this service's CPU per order. A changed address or a
        # deactivation is seen within the TTL.
        self._contacts = ContactCache(settings.contact_cache_seconds)

    async def handle(self, consumed: ConsumedEvent) -> None:
        """The consumer's handler. Raises to be retried; PoisonEvent for what never fits."""
        event = consumed.event
        if consumed.event_type in SILENT_EVENTS:  # a record without the event_type header
            return
        spec = TEMPLATE_OF_EVENT.get(consumed.event_type)
        if spec is None:
            raise PoisonEvent(f"no notification for event type {consumed.event_type!r}")
        if "reset_token" in event:
            # Sealed by users for this service alone; opened only into the email's data.
            try:
                token = sealed.unseal(self._settings.reset_token_key, str(event["reset_token"]))
            except sealed.SealBroken as exc:
                raise PoisonEvent("reset token not sealed with this service's key") from exc
            event = {**event, "reset_token": token}
        for delivery in await self._deliveries(spec, event):
            try:
                await self._deliver(consumed.event_id, consumed.event_type, spec, delivery)
            except TemplateDataInvalid as exc:
                raise PoisonEvent(exc.detail) from exc

    async def _deliveries(self, spec: TemplateSpec, event: Mapping[str, Any]) -> list[Delivery]:
        if spec.audience == "admins":
            return [Delivery("email", address, event) for address in self._settings.admin_emails]
        if spec.audience == "addressee":
            name = event.get("full_name") or event.get("username") or "there"
            return [Delivery("email", str(event["email"]), {**event, "name": name})]
        contact = await self._contact(int(event["user_id"]))
        if contact is None:
            return []
        data = {**event, "name": contact.get("full_name") or contact["username"]}
        deliveries = [Delivery("email", str(contact["email"]), data)]
        if spec.sms and contact.get("phone"):
            deliveries.append(Delivery("sms", str(contact["phone"]), data))
        return deliveries

    async def _contact(self, user_id: int) -> dict[str, Any] | None:
        """The buyer's contact data; None for a user who is gone (nothing to send)."""
        contact = self._contacts.get(user_id)
        if contact is None:
            contact = await self._fetch_contact(user_id)
            if contact is None:
                return None
            self._contacts.put(user_id, contact)
        return contact if contact["is_active"] else None

    async def _fetch_contact(self, user_id: int) -> dict[str, Any] | None:
        response = await self._users.get(f"/internal/users/{user_id}")
        if response.status_code == 404:
            log.info("user %s no longer exists: nothing sent", user_id)
            return None
        if response.status_code != 200:
            raise UpstreamUnavailable("users", f"users answered {response.status_code}")
        contact: dict[str, Any] = response.json()
        return contact

    async def _deliver(
        self, source_id: str, event_type: str, spec: TemplateSpec, delivery: Delivery
    ) -> Entry:
        delivery_id = f"{source_id}:{delivery.channel}:{delivery.recipient}"
        rendered = self._templates.render(spec.name, delivery.data)
        if await self._log.already_delivered(delivery_id):
            return _entry(source_id, event_type, delivery, rendered.subject, "sent")
        text = rendered.text if delivery.channel == "email" else (rendered.sms or rendered.text)
        message = Message(
            delivery.channel,
            delivery.recipient,
            rendered.subject,
            text,
            rendered.html if delivery.channel == "email" else None,
            message_id=hashlib.sha256(delivery_id.encode()).hexdigest()[:32],
        )
        try:
            await self._channels[delivery.channel].send(message)
        except ChannelError as exc:
            await self._log.failed(
                _entry(source_id, event_type, delivery, rendered.subject, "failed", str(exc))
            )
            NOTIFICATIONS_SENT.labels(delivery.channel, event_type, "failed").inc()
            raise
        entry = _entry(source_id, event_type, delivery, rendered.subject, "sent")
        await self._log.delivered(delivery_id, entry)
        NOTIFICATIONS_SENT.labels(delivery.channel, event_type, "sent").inc()
        return entry

    async def send_manual(
        self,
        *,
        channel: ChannelName,
        template: str,
        data: Mapping[str, Any],
        user_id: int | None,
        recipient: str | None,
    ) -> list[Entry]:
        """An admin's or a service's message to one user (their contact) or one address."""
        if user_id is not None:
            contact = await self._contact(user_id)
            if contact is None:
                return []
            address = contact.get("phone") if channel == "sms" else contact.get("email")
            if not address:
                return []
            data = {"name": contact.get("full_name") or contact["username"], **data}
            recipient = str(address)
        assert recipient is not None
        spec = spec_named(template)
        try:
            entry = await self._deliver(
                f"manual-{uuid.uuid4()}", "manual", spec, Delivery(channel, recipient, data)
            )
        except ChannelError as exc:
            raise ChannelUnavailable(f"the {channel} channel did not take the message") from exc
        return [entry]


def _entry(
    source_id: str,
    event_type: str,
    delivery: Delivery,
    subject: str,
    status: str,
    error: str = "",
) -> Entry:
    return Entry(
        event_id=source_id,
        event_type=event_type,
        channel=delivery.channel,
        recipient=delivery.recipient,
        subject=subject,
        status=status,
        sent_at=utc_timestamp(),
        error=error[:500],
    )
