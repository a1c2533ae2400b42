"""The altcraft dialect."""

from dialflow.dialects.altcraft.api import router

__all__ = ["router"]
