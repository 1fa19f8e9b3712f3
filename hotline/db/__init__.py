"""Database: engine set-up, models, Alembic migrations."""
