"""The transactional outbox: events written with the change, relayed by the worker."""
