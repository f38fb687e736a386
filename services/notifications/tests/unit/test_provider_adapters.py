"""The Twilio and FCM adapters, against recording transports: those providers cannot run here."""

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client as TwilioClient

from cloudmart_common import sealed
from cloudmart_notifications.channels import ChannelError, FcmPushChannel, Message, TwilioSmsChannel
from cloudmart_notifications.settings import Settings

KEY = SecretStr(sealed.new_key())
SMS = Message("sms", "+15551234567", "Shipped", "CloudMart: order #1 has shipped.")


class RecordingTwilioHttp(HttpClient):  # type: ignore[misc]  # twilio ships no types
    """Twilio's own transport interface: what the SDK would put on the wire."""

    def __init__(self, status: int = 201) -> None:
        self.requests: list[dict[str, Any]] = []
        self._status = status

    def request(self, method: str, uri: str, **kwargs: Any) -> Response:
        self.requests.append({"method": method, "uri": uri, **kwargs})
        body = (
            {"sid": "SM123", "status": "queued"}
            if self._status < 400
            else {
                "code": 21211,
                "message": "The 'To' number is not a valid phone number.",
                "status": self._status,
            }
        )
        return Response(self._status, json.dumps(body))


def _twilio(transport: RecordingTwilioHttp) -> TwilioSmsChannel:
    settings = Settings(
        sms_backend="twilio",
        twilio_from_number="+15550000000",
        twilio_account_sid="AC123",
        reset_token_key=KEY,
    )
    return TwilioSmsChannel(settings, TwilioClient("AC123", "token", http_client=transport))


async def test_twilio_posts_the_message_from_our_number() -> None:
    transport = RecordingTwilioHttp()

    await _twilio(transport).send(SMS)

    [request] = transport.requests
    assert request["method"] == "POST"
    assert request["uri"].endswith("/Accounts/AC123/Messages.json")
    assert request["data"] == {
        "To": "+15551234567",
        "From": "+15550000000",
        "Body": "CloudMart: order #1 has shipped.",
    }


async def test_a_twilio_refusal_is_a_channel_error() -> None:
    with pytest.raises(ChannelError, match="Twilio"):
        await _twilio(RecordingTwilioHttp(status=400)).send(SMS)


class _Fcm(FcmPushChannel):
    async def _token(self) -> str:  # a service account's token needs Google
        return "ya29.test-token"


def _fcm(handler: Any) -> FcmPushChannel:
    settings = Settings(push_backend="fcm", fcm_project_id="cloudmart-test", reset_token_key=KEY)
    return _Fcm(settings, httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def test_fcm_sends_a_v1_message_to_the_device_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"name": "projects/cloudmart-test/messages/1"})

    await _fcm(handler).send(Message("push", "device-token-1", "Shipped", "On its way"))

    [request] = seen
    assert str(request.url) == (
        "https://fcm.googleapis.com/v1/projects/cloudmart-test/messages:send"
    )
    assert request.headers["Authorization"] == "Bearer ya29.test-token"
    assert json.loads(request.content) == {
        "message": {
            "token": "device-token-1",
            "notification": {"title": "Shipped", "body": "On its way"},
        }
    }


async def test_an_fcm_error_is_a_channel_error() -> None:
    channel = _fcm(lambda request: httpx.Response(404, json={"error": {"status": "NOT_FOUND"}}))
    with pytest.raises(ChannelError, match="404"):
        await channel.send(Message("push", "gone-token", "x", "y"))


async def test_fcm_without_credentials_says_so() -> None:
    channel = FcmPushChannel(Settings(push_backend="fcm", fcm_project_id="p", reset_token_key=KEY))
    with pytest.raises(ChannelError, match="FCM_CREDENTIALS_FILE"):
        await channel.send(Message("push", "t", "x", "y"))
