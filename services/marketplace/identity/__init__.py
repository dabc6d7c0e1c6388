"""Organisations, users, roles, tokens and API keys."""
