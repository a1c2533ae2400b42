"""The workspace's do-not-call list, honoured at intake and again before every dial."""
