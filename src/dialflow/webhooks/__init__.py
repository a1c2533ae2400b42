"""Webhooks: the transactional outbox of events, endpoints, signed and retried deliveries."""
