"""Shared building blocks: errors, money, time, pagination, validators, idempotency."""
