"""Alembic migrations of the store's schema; run through ivr.store.migrate (or `alembic` with the repository's alembic.ini)."""
