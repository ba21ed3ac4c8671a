"""Database layer: declarative base and column types, engines and sessions, migrations."""
