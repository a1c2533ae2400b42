"""The order in which due records are claimed, as one sortable integer.

Hot leads (no priority) first, then priority 10 down to 1; within each, records never
attempted before retries. Lower rank is claimed first; age breaks ties (by due time).
"""

from __future__ import annotations


def priority_rank(priority: int | None) -> int:
    """The rank of an unattempted record: 0 for a hot lead, 2 for priority 10 ... 20 for 1."""
    return 0 if priority is None else (11 - priority) * 2


def dispatch_rank(priority: int | None, *, attempted: bool) -> int:
    return priority_rank(priority) + (1 if attempted else 0)
