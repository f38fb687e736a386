"""Creates and updates the Kafka topics of the topology (cloudmart_common.topology): `make up`
runs it against the local broker, and in the cloud a Helm hook Job runs it against MSK before
every install and upgrade (auto-create is off there). One definition, one command.

    python -m cloudmart_common.topic_admin             # apply; brokers from the KAFKA_* settings
    python -m cloudmart_common.topic_admin --plan      # what it asks for, as JSON
    python -m cloudmart_common.topic_admin --replication 1   # a one-broker cluster
"""

import argparse
import asyncio
import json
import sys
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.admin.new_partitions import NewPartitions

from cloudmart_common import topology
from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.settings import CommonSettings


def plan(replication: int | None = None) -> list[dict[str, Any]]:
    """Every topic as the brokers are asked for it (`replication` overrides the topology's)."""
    return [
        {
            "name": topic.name,
            "partitions": topic.partitions,
            "replication": replication or topic.replication,
            "configs": topic.configs(),
        }
        for topic in topology.TOPICS
    ]


async def apply(connection: KafkaConnection, replication: int | None = None) -> list[str]:
    """Create the missing topics, grow partitions that are fewer than the topology's (Kafka
    cannot shrink them), and set every topic's configs whole; the names created."""
    admin = AIOKafkaAdminClient(**connection.options())
    await admin.start()
    try:
        wanted = plan(replication)
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                topic["name"],
                num_partitions=topic["partitions"],
                replication_factor=topic["replication"],
                topic_configs=topic["configs"],
            )
            for topic in wanted
            if topic["name"] not in existing
        ]
        if missing:
            await admin.create_topics(missing)
        present = [topic for topic in wanted if topic["name"] in existing]
        if present:
            described = await admin.describe_topics([topic["name"] for topic in present])
            counts = {d["topic"]: len(d.get("partitions", ())) for d in described}
            grow = {
                topic["name"]: NewPartitions(total_count=topic["partitions"])
                for topic in present
                if counts.get(topic["name"], topic["partitions"]) < topic["partitions"]
            }
            if grow:
                await admin.create_partitions(grow)
            # Set whole: the topology owns every one of these configs (retention, compression).
            kind = ConfigResourceType.TOPIC
            await admin.alter_configs(
                [ConfigResource(kind, topic["name"], configs=topic["configs"]) for topic in present]
            )
        return [topic.name for topic in missing]
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cloudmart_common.topic_admin")
    parser.add_argument("--plan", action="store_true", help="print the topics as JSON, apply none")
    parser.add_argument("--replication", type=int, help="instead of the topology's (local: 1)")
    arguments = parser.parse_args(argv)
    if arguments.plan:
        print(json.dumps(plan(arguments.replication), indent=2))
        return 0
    connection = KafkaConnection.of(CommonSettings())
    created = asyncio.run(apply(connection, arguments.replication))
    print(f"topics created: {', '.join(created) or 'none'}; configs of all set", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
