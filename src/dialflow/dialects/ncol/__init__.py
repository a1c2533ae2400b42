"""The ncol dialect."""

from dialflow.dialects.ncol.api import router

__all__ = ["router"]
