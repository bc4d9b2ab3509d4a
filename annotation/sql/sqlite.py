"""SQLite: the ORM store as it is (its statements are already fast on a local file), judgments read as tuples."""

from collections.abc import Sequence
from typing import Any

import numpy as np
from django.db import connection

from ..assignment import AssignmentStore

__all__ = ["assignment_store", "int_rows"]

_STORE = AssignmentStore()


def assignment_store() -> AssignmentStore:
    return _STORE


def int_rows(columns: list[str], rest: str, params: Sequence[Any], width: int) -> np.ndarray:
    """Run SELECT columns rest and return an int64 array (rows x width)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)} {rest}", params)
        return np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, width)
