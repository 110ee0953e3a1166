"""Database layer: typed models, engines and sessions, Alembic migrations, default data."""

from pathlib import Path

MIGRATIONS = Path(__file__).with_name("migrations")


def revisions() -> list[str]:
    """Every shipped revision, oldest first: files are named NNNN_slug.py with revision NNNN."""
    return sorted(p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


# The revision this program needs, known without importing Alembic (a test checks it is Alembic's head).
SCHEMA_HEAD = revisions()[-1]
