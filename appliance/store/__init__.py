"""Persistence: SQLAlchemy models, engine and session setup, Alembic migrations. The only SQL."""
