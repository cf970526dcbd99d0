"""Database: typed models, engine/session wiring and migrations."""
