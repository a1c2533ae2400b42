"""What every dialect's tests share: the engine's dialer and the webhook receiver fixtures."""

from tests.dialer.test_engine import make_dialer
from tests.webhooks.conftest import make_deliverer, receiver

__all__ = ["make_deliverer", "make_dialer", "receiver"]
