"""The engine tests' dialer fixture, so these tests dial records the same way."""

from tests.dialer.test_engine import make_dialer

__all__ = ["make_dialer"]
