"""Importable logic behind ``tools/*.py`` (no registered modules here)."""
