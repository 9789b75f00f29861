"""Persistence: SQLAlchemy models, engines and sessions, Alembic migrations and the alarm state machine. All the SQL."""
