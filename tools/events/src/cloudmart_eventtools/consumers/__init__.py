"""What each consumer reads of the events it consumes, declared per consuming service and
checked against the producers' schemas by tests/contracts (the Flink job declares its own in
analytics/src/main/resources/consumer-contract.json)."""
