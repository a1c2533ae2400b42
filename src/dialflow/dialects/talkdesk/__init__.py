"""The talkdesk dialect."""

from dialflow.dialects.talkdesk.api import router

__all__ = ["router"]
