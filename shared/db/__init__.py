"""The database schema both services share, and how it is created or migrated."""
