"""SQLite storage: WAL mode, migrations by user_version, one database per mode."""
