"""Users service: accounts, JWT auth, profiles, sessions."""
