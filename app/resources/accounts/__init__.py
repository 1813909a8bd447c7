"""Accounts: registration, log-in with JWT access and refresh tokens, log-out."""
