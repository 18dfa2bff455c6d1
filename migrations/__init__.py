"""Alembic migrations; `service.migrate` runs them (the app never calls create_all)."""
