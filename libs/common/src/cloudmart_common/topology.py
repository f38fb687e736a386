"""The Kafka topology of CloudMart (architecture.md §5), defined once: the topics with their
partitions, replication, retention and compression, the dead-letter topic and its headers, and
the consumer groups. The local stack creates the topics from it, the AsyncAPI document is
generated from it, and the services' producers, consumers and the DLQ redrive name topics,
groups and headers only through it.
"""

from dataclasses import dataclass

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    replication: int  # in the cloud; the local broker is one, so 1 there
    retention_days: int
    # The topic's `compression.type`: orders (many small JSON events, read by every consumer)
    # cheap to (de)compress with snappy; analytics results (kept 30 days) smaller with gzip;
    # elsewhere whatever the producer chose.
    compression: str = "producer"

    def configs(self) -> dict[str, str]:
        """The topic-level configs a creation request carries."""
        return {
            "retention.ms": str(self.retention_days * DAY_MS),
            "compression.type": self.compression,
        }


ORDERS = Topic("orders", partitions=3, replication=2, retention_days=7, compression="snappy")
PAYMENTS = Topic("payments", partitions=3, replication=2, retention_days=7)
NOTIFICATIONS = Topic("notifications", partitions=1, replication=2, retention_days=7)
ANALYTICS_RESULTS = Topic(
    "analytics-results", partitions=3, replication=2, retention_days=30, compression="gzip"
)
# The platform's one dead-letter topic: every consumer group gives up into it.
DEAD_LETTERS = Topic("notifications-dlq", partitions=1, replication=2, retention_days=30)

TOPICS: tuple[Topic, ...] = (ORDERS, PAYMENTS, NOTIFICATIONS, ANALYTICS_RESULTS, DEAD_LETTERS)


@dataclass(frozen=True)
class ConsumerGroup:
    group_id: str
    topics: tuple[str, ...]


def _names(*topics: Topic) -> tuple[str, ...]:
    return tuple(topic.name for topic in topics)


NOTIFICATIONS_GROUP = ConsumerGroup(
    "notification-service-group", _names(ORDERS, PAYMENTS, NOTIFICATIONS)
)
ORDERS_GROUP = ConsumerGroup("order-service-group", _names(PAYMENTS))
DASHBOARD_GROUP = ConsumerGroup("dashboard-group", _names(ANALYTICS_RESULTS))
ANALYTICS_GROUP = ConsumerGroup("order-analytics", _names(ORDERS))  # the Flink job (Java)

CONSUMER_GROUPS: tuple[ConsumerGroup, ...] = (
    NOTIFICATIONS_GROUP,
    ORDERS_GROUP,
    DASHBOARD_GROUP,
    ANALYTICS_GROUP,
)

# A dead letter may go back only to a topic some group reads, never to one its headers name.
REPLAYABLE_TOPICS = frozenset(topic for group in CONSUMER_GROUPS for topic in group.topics)


class DeadLetterHeaders:
    """The headers a dead letter carries beside the original record's own."""

    PREFIX = "dlq_"  # every one of them starts so
    ERROR = "dlq_error"  # why it was given up
    ORIGINAL_TOPIC = "dlq_original_topic"
    ORIGINAL_PARTITION = "dlq_original_partition"
    ORIGINAL_OFFSET = "dlq_original_offset"
    ATTEMPTS = "dlq_attempts"
    CONSUMER_GROUP = "dlq_consumer_group"  # the group that gave up
    # On a copy replayed from the DLQ: how many times, and from which record.
    REPLAY_COUNT = "dlq_replay_count"
    REPLAYED_FROM = "dlq_replayed_from"

    ON_EVERY_DEAD_LETTER = (
        ERROR,
        ORIGINAL_TOPIC,
        ORIGINAL_PARTITION,
        ORIGINAL_OFFSET,
        ATTEMPTS,
        CONSUMER_GROUP,
    )
