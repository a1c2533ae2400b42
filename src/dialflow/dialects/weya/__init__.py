"""The weya dialect."""

from dialflow.dialects.weya.api import router

__all__ = ["router"]
