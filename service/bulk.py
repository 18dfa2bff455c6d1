"""Writing a DataFrame into a table fast, inside the caller's open transaction.

PostgreSQL gets ``COPY ... FROM STDIN`` (an order of magnitude faster than INSERTs for
hundreds of thousands of rows); SQLite gets one prepared INSERT run over every row.
Columns are named by the frame; values must already be in their database form.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pandas as pd
from sqlalchemy import Connection

_CHUNK = 200_000


def write_frame(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """Insert every row of ``frame`` into ``table`` (columns named as in the frame)."""
    if frame.empty:
        return
    if conn.dialect.name == "postgresql":
        _copy(conn, table, frame)
    else:
        _executemany(conn, table, frame)


def _executemany(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """SQLite: one prepared INSERT run over every row, inside the open transaction."""
    columns = ", ".join(frame.columns)
    marks = ", ".join("?" * len(frame.columns))
    rows = list(zip(*(_python(frame[c]) for c in frame.columns), strict=True))
    cursor = conn.connection.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def _python(column: pd.Series) -> list[object]:
    """A column as plain Python values, None for missing (sqlite3 takes no numpy scalars)."""
    if column.dtype.kind in "biu":
        return column.to_numpy().tolist()  # type: ignore[no-any-return]
    return column.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[no-any-return]


def _copy(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    """PostgreSQL: COPY FROM STDIN in CSV, chunk by chunk, inside the open transaction."""
    columns = ", ".join(frame.columns)
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, \
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
        for chunk in _csv_chunks(frame):
            copy.write(chunk)


def _csv_chunks(frame: pd.DataFrame) -> Iterator[str]:
    for start in range(0, len(frame), _CHUNK):
        buffer = io.StringIO()
        # None is written as an empty unquoted field, which CSV COPY reads as NULL.
        frame.iloc[start:start + _CHUNK].to_csv(buffer, header=False, index=False)
        yield buffer.getvalue()
