"""Dashboard service: live analytics from the Flink job's results."""
