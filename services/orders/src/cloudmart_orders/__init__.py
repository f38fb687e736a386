"""Orders service: checkout saga, status workflow, outbox to Kafka."""
