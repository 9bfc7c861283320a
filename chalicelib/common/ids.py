"""What an id looks like: checked before any lookup, so nothing odd ever reaches a key condition."""
from __future__ import annotations

import re

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"


def is_id(value: object) -> bool:
    """Whether ``value`` can be an incident, member or integration id."""
    return isinstance(value, str) and re.fullmatch(ID_PATTERN, value) is not None
