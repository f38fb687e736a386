"""Development tooling of the events, never installed in a service image: the AsyncAPI
generator, the schema compatibility gate and the consumers' contracts (architecture.md §5)."""
