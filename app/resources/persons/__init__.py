"""Persons: found by name, one by one with their roles, and their films."""
