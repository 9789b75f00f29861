"""Keryu updates: signed bundles (`keryu bundle`), their checked install with a journal and
automatic rollback (`keryu update`), and what the admin page shows about updates.

The install runs as root in `keryu-update.service`, never in the web process: the page only
drops an upload into the spool folder (see docs/updates.md and docs/security.md).
"""
