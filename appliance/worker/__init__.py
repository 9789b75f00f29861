"""The Celery runtime: thin tasks over services, the beat schedule, and the worker/beat entry points."""
