"""Products service: DynamoDB catalog, search, stock reservations, cache."""
