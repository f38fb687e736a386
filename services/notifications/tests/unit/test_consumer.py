"""The notifications consumer as the composition root builds it."""

from types import SimpleNamespace
from typing import cast

from pydantic import SecretStr
from redis.asyncio import Redis

from cloudmart_common import sealed
from cloudmart_common.fault_flags import NO_FAULTS
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_notifications.consumer import events_consumer
from cloudmart_notifications.service import Notifier
from cloudmart_notifications.settings import Settings


def test_it_polls_ten_records_at_a_time_as_designed() -> None:
    settings = Settings(reset_token_key=SecretStr(sealed.new_key()))
    consumer = events_consumer(
        settings,
        cast(Notifier, SimpleNamespace(handle=None)),
        cast(Redis, object()),
        EventProducer(settings),
        NO_FAULTS,
    )

    assert settings.consumer_max_poll_records == 10
    assert consumer.max_poll_records == 10
