"""Persistence: ORM models, engine and sessions, Alembic migrations, the audio store.

Imports nothing else of this project.
"""
