"""Alembic migrations (installed as the package ``bot.migrations``)."""
