"""The airudder dialect."""

from dialflow.dialects.airudder.api import router

__all__ = ["router"]
