"""Delivery channels behind one interface: email (SMTP), SMS (Twilio), push (FCM).

Which backend serves SMS and push is a setting: the real providers in the cloud, or `sink`,
which delivers them as email to the SMTP sink (mailpit locally) so they can be inspected.
Every channel raises ChannelError on failure; the consumer retries and then dead-letters.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.message import Message as MimeMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid
from typing import Literal, Protocol

import aiosmtplib
import httpx
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import service_account
from twilio.base.exceptions import TwilioException
from twilio.rest import Client as TwilioClient

from cloudmart_common.fault_flags import NO_FAULTS, NOTIFICATION_CHANNEL_DOWN, FaultFlags
from cloudmart_notifications.settings import Settings
from cloudmart_notifications.smtp import smtp_client

ChannelName = Literal["email", "sms", "push"]
SINK_DOMAIN = "sink.cloudmart.example.com"
FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


class ChannelError(Exception):
    """The channel did not take the message (down, refused, misconfigured)."""


@dataclass(frozen=True)
class Message:
    channel: ChannelName
    recipient: str  # an email address, an E.164 phone number, or an FCM device token
    subject: str
    text: str
    html: str | None = None
    # Stable per (event, channel, recipient): the email's Message-ID, so a resend is recognisable.
    message_id: str | None = None


class Channel(Protocol):
    name: ChannelName

    async def send(self, message: Message) -> None: ...


def one_line(text: str) -> str:
    """Header text: control characters (CR and LF above all) become spaces. A subject rendered
    from data (a product name, an admin's manual subject) must not break the header: the email
    library refuses it with a ValueError, which was a 500."""
    return " ".join("".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text).split())


class EmailChannel:
    name: ChannelName = "email"

    def __init__(self, settings: Settings, faults: FaultFlags = NO_FAULTS) -> None:
        self._settings = settings
        self._faults = faults
        # One SMTP session kept open across messages: a connection per email cost a TCP
        # handshake, the greeting and EHLO each time (a third of the channel's CPU). The lock
        # keeps one transaction at a time on it.
        self._smtp: aiosmtplib.SMTP | None = None
        self._smtp_lock = asyncio.Lock()

    async def aclose(self) -> None:
        async with self._smtp_lock:
            await self._disconnect()

    async def _disconnect(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()

    async def _transmit(self, email: MimeMessage) -> None:
        async with self._smtp_lock:
            reused = self._smtp is not None and self._smtp.is_connected
            if not reused:
                await self._disconnect()
                self._smtp = smtp_client(self._settings)
                await self._smtp.connect()
            assert self._smtp is not None
            try:
                await self._smtp.send_message(email)
            except aiosmtplib.SMTPServerDisconnected:
                await self._disconnect()
                if not reused:
                    raise
                # The server dropped the idle session before this message: a fresh one.
                self._smtp = smtp_client(self._settings)
                await self._smtp.connect()
                await self._smtp.send_message(email)
            except (aiosmtplib.SMTPException, OSError):
                await self._disconnect()  # in an unknown state: never reuse it
                raise

    async def send(self, message: Message, *, headers: dict[str, str] | None = None) -> None:
        if self._faults.notification_channel_down():
            # Raised where a refused SMTP connection is: retries, dead-lettering and the
            # manual send's 503 follow as in a real outage.
            self._faults.triggered(NOTIFICATION_CHANNEL_DOWN, f"{message.channel} not sent")
            raise ChannelError("SMTP: SMTPConnectError: connection refused (fault flag)")
        fields = {
            "From": self._settings.sender_email,
            "To": message.recipient,
            "Subject": one_line(message.subject),
            "Message-ID": (
                f"<{message.message_id}@cloudmart.example.com>"
                if message.message_id
                else make_msgid(domain="cloudmart.example.com")
            ),
        }
        fields |= {name: one_line(value) for name, value in (headers or {}).items()}
        email = _compose(fields, message.text, message.html)
        try:
            await self._transmit(email)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP: {type(exc).__name__}: {exc}") from exc


def _compose(fields: dict[str, str], text: str, html: str | None) -> MimeMessage:
    """The email: text, and html as its alternative when there is one.

    Plain ASCII headers (nearly every message) take the compat32 classes: the default
    policy's header objects parse and fold every header, about 2 ms of CPU per message, three
    times what compat32 takes. Anything else (a non-ASCII subject or address, a line break
    in a header, which the default policy refuses) takes the default policy as before.
    """
    if all(
        value.isascii() and "\r" not in value and "\n" not in value for value in fields.values()
    ):
        body: MimeMessage = MIMEText(text, "plain", "utf-8")
        if html is not None:
            body = MIMEMultipart("alternative", _subparts=[body, MIMEText(html, "html", "utf-8")])
        for name, value in fields.items():
            body[name] = value
        return body
    message = EmailMessage()
    for name, value in fields.items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


class SinkChannel:
    """SMS or push delivered as email to the sink, the real recipient in a header."""

    def __init__(self, name: ChannelName, email: EmailChannel) -> None:
        self.name = name
        self._email = email

    async def send(self, message: Message) -> None:
        local = "".join(c for c in message.recipient if c.isalnum())[:64] or "unknown"
        await self._email.send(
            Message(
                self.name,
                f"{self.name}+{local}@{SINK_DOMAIN}",
                message.subject,
                message.text,
                None,
                message.message_id,
            ),
            headers={"X-CloudMart-Channel": self.name, "X-CloudMart-Recipient": message.recipient},
        )


class TwilioSmsChannel:
    name: ChannelName = "sms"

    def __init__(self, settings: Settings, client: TwilioClient | None = None) -> None:
        self._client = client or TwilioClient(
            settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value()
        )
        self._from = settings.twilio_from_number

    async def send(self, message: Message) -> None:
        try:
            # The SDK is synchronous: keep the event loop free while it talks to Twilio.
            await asyncio.to_thread(
                self._client.messages.create,
                to=message.recipient,
                from_=self._from,
                body=message.text,
            )
        except (TwilioException, OSError) as exc:
            raise ChannelError(f"Twilio: {type(exc).__name__}: {exc}") from exc


class FcmPushChannel:
    """Firebase Cloud Messaging HTTP v1, with a service account's OAuth token."""

    name: ChannelName = "push"

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self._project = settings.fcm_project_id
        self._credentials_file = settings.fcm_credentials_file
        self._credentials: service_account.Credentials | None = None
        self._http = http or httpx.AsyncClient(timeout=10)
        self._base = settings.fcm_api_base.rstrip("/")

    async def _token(self) -> str:
        if self._credentials is None:
            if self._credentials_file is None:
                raise ChannelError("FCM: FCM_CREDENTIALS_FILE is not set")
            self._credentials = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(self._credentials_file), scopes=[FCM_SCOPE]
            )
        if not self._credentials.valid:
            await asyncio.to_thread(self._credentials.refresh, GoogleRequest())
        return str(self._credentials.token)

    async def send(self, message: Message) -> None:
        body = {
            "message": {
                "token": message.recipient,
                "notification": {"title": message.subject, "body": message.text},
            }
        }
        try:
            response = await self._http.post(
                f"{self._base}/v1/projects/{self._project}/messages:send",
                json=body,
                headers={"Authorization": f"Bearer {await self._token()}"},
            )
        except httpx.HTTPError as exc:
            raise ChannelError(f"FCM: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ChannelError(f"FCM answered {response.status_code}: {response.text[:200]}")


async def close_channels(channels: Mapping[ChannelName, Channel]) -> None:
    """Close what the channels hold open (the SMTP session)."""
    for channel in channels.values():
        if isinstance(channel, EmailChannel):
            await channel.aclose()


def build_channels(
    settings: Settings, faults: FaultFlags = NO_FAULTS
) -> dict[ChannelName, Channel]:
    email = EmailChannel(settings, faults)
    sms: Channel = (
        TwilioSmsChannel(settings)
        if settings.sms_backend == "twilio"
        else SinkChannel("sms", email)
    )
    push: Channel = (
        FcmPushChannel(settings) if settings.push_backend == "fcm" else SinkChannel("push", email)
    )
    return {"email": email, "sms": sms, "push": push}
