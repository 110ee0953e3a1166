"""Database layer: typed models, engines and sessions, Alembic migrations, default data."""

# The revision the code expects; a test checks it is the head of migrations/versions.
SCHEMA_HEAD = "0001"
