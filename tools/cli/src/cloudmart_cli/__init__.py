"""The `cloudmart` operator CLI."""
