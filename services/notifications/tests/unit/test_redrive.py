"""What a dead letter says about itself, and what a replayed copy carries."""

import json
import re

import pytest

from cloudmart_common.topology import DeadLetterHeaders
from cloudmart_notifications.redrive.records import DeadLetter, RecordId
from cloudmart_notifications.redrive.schemas import RECORD_ID_PATTERN

EVENT = {"event_id": "e-1", "event_type": "order_created", "order_id": 7}


def _letter(*extra: tuple[str, bytes], value: bytes = json.dumps(EVENT).encode()) -> DeadLetter:
    headers = (
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("event_type", b"order_created"),
        *extra,
        ("dlq_error", b"ChannelError: smtp refused"),
        ("dlq_original_topic", b"orders"),
        ("dlq_original_partition", b"2"),
        ("dlq_original_offset", b"41"),
        ("dlq_attempts", b"6"),
        ("dlq_consumer_group", b"notification-service-group"),
    )
    return DeadLetter(RecordId(0, 12), 1_764_300_000_000, "7", value, headers)


def test_a_dead_letter_reads_its_origin_and_failure_from_the_headers() -> None:
    letter = _letter()

    assert (letter.original_topic, letter.original_partition, letter.original_offset) == (
        "orders",
        2,
        41,
    )
    assert letter.attempts == 6
    assert letter.error == "ChannelError: smtp refused"
    assert letter.replay_count == 0
    assert (letter.event_id, letter.event_type) == ("e-1", "order_created")
    assert letter.dead_lettered_at == "2025-11-28T03:20:00.000Z"


def test_a_replayed_copy_keeps_the_original_headers_and_counts_one_more_replay() -> None:
    letter = _letter(
        (DeadLetterHeaders.REPLAY_COUNT, b"2"), ("dlq_replayed_from", b"notifications-dlq/0/3")
    )

    headers = letter.replay_headers()

    assert headers == [
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("event_type", b"order_created"),
        (DeadLetterHeaders.REPLAY_COUNT, b"3"),
        ("dlq_replayed_from", b"notifications-dlq/0/12"),
    ]


def test_a_record_that_is_not_json_is_shown_as_text() -> None:
    letter = _letter(value=b"{not json")

    assert letter.event == "{not json"
    assert letter.event_id is None
    assert letter.event_type == "order_created"  # from its header


@pytest.mark.parametrize("text", ["0-12", "3-0", "123456789-1234567890123456789"])
def test_record_ids_round_trip(text: str) -> None:
    assert str(RecordId.parse(text)) == text
    assert RecordId.parse(text) == RecordId(*map(int, text.split("-")))


def test_record_id_pattern_refuses_what_parse_cannot_take() -> None:
    for bad in ["0", "0-", "-1", "0-1-2", "a-1", "0-1 ", "1234567890-1"]:
        assert re.fullmatch(RECORD_ID_PATTERN, bad) is None, bad
