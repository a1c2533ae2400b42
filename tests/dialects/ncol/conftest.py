"""The engine tests' dialer fixture, so these tests dial records the same way."""

from tests.dialer.test_engine import make_dialer
from tests.webhooks.conftest import make_deliverer, receiver

__all__ = ["make_deliverer", "make_dialer", "receiver"]
