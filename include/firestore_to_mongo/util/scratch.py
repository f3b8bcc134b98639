"""A SQLite database in a temporary directory: key sets too large for memory, on local disk."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path
from typing import Any, Self


class ScratchSqlite:
    """Created with its schema, deleted with its directory on close()."""

    def __init__(self, name: str, schema: str) -> None:
        self._directory = tempfile.TemporaryDirectory(prefix=f"firestore-to-mongo-{name}-")
        # One thread at a time, but not always the one that made it: the migration claims
        # keys in its mapping stage's thread.
        self.db = sqlite3.connect(Path(self._directory.name) / f"{name}.sqlite", check_same_thread=False)
        self.db.execute(schema)

    def where_in(self, select: str, values: list[Any]) -> sqlite3.Cursor:
        """The rows of `select` + ` IN (?, …)` over `values`. SQLite takes up to 32,766
        parameters; callers pass one batch (at most 10,000 documents)."""
        return self.db.execute(f"{select} IN ({','.join('?' * len(values))})", values)

    def close(self) -> None:
        self.db.close()
        self._directory.cleanup()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
