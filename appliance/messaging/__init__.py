"""Messaging providers: HTTP and provider formats only, never the database or Celery."""
