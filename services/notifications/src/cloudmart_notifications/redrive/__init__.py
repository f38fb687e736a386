"""DLQ redrive: read `notifications-dlq`, replay or discard its records, audit every action.

Modules: `records` (a dead letter, its id and state), `reader` (Kafka), `store` (Redis),
`service` (the actions), `api` and `schemas` (the admin routes), `errors`.

Kafka cannot delete one record, so what was done with a record (replayed, discarded) lives in
Redis next to the dedupe store; Redis runs with an append-only file, so it survives restarts.
"""
