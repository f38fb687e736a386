"""Notifications service: Kafka consumer, email/SMS/push."""
