"""Writing an import in bulk: existing rows fetched by business key, new rows inserted and
changed rows updated set-wise (COPY into a staging table on PostgreSQL, batched statements
on SQLite), always in key order so concurrent imports cannot deadlock."""

from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import Column, Table, bindparam, column, func, select, text, update
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.sql.expression import TableClause
from sqlmodel import Session

from models.base import utcnow

# Bind parameters per IN query on SQLite: well under its 32766 limit.
KEY_CHUNK = 5000
# Rows per executemany batch on SQLite: bounds the memory held per round trip.
WRITE_CHUNK = 5000


def rows_by_key(conn: Connection, cols: Sequence[Any], key: Column[Any], keys: Iterable[Any],
                 *where: Any) -> list[Row[Any]]:
    """The rows whose `key` is one of `keys` (and match `where`), without a query per key.

    PostgreSQL joins on unnest() of one array parameter: a single round trip whose plan (index
    probes or a hash join) stays good when the table was just bulk-loaded and has no fresh
    statistics; an IN list of parameters there is searched linearly per row. SQLite indexes an
    IN list itself, so it gets chunked IN queries.
    """
    ordered = sorted(set(keys))
    if not ordered:
        return []
    table = key.table
    if conn.dialect.name == "postgresql":
        wanted = func.unnest(bindparam("keys", ordered, type_=postgresql.ARRAY(key.type))
                             ).table_valued("value").render_derived("wanted")
        query = (select(*cols).select_from(table.join(wanted, key == wanted.c.value))
                 .where(*where))
        return list(conn.execute(query).all())
    rows: list[Row[Any]] = []
    for start in range(0, len(ordered), KEY_CHUNK):
        chunk = ordered[start:start + KEY_CHUNK]
        rows.extend(conn.execute(select(*cols).where(key.in_(chunk), *where)).all())
    return rows


def stored_by_source(conn: Connection, table: Table, cols: Sequence[Any],
                     keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Row[Any]]:
    """Stored rows of `table` with these (source, source_ref) keys, by key (`cols` must
    include source and source_ref)."""
    by_source: dict[str, list[str]] = {}
    for source, ref in keys:
        by_source.setdefault(source, []).append(ref)
    found: dict[tuple[str, str], Row[Any]] = {}
    for source, refs in sorted(by_source.items()):
        found.update(((r.source, r.source_ref), r) for r in rows_by_key(
            conn, cols, table.c.source_ref, refs, table.c.source == source))
    return found


def begin_writing(session: Session) -> None:
    """End the (read-only) transaction so far and start one that may write.

    On SQLite the new transaction takes the database's writer lock at once, with a write
    that changes nothing: a transaction that reads first and writes later fails if another
    writer committed in between, and the lock makes the import's checks and writes see one
    state of the register. PostgreSQL locks the rows themselves (`lock_rows`).
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_writing needs a session with no pending writes")
    session.commit()
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.execute(text("UPDATE persons SET id = id WHERE 0"))


def lock_rows(conn: Connection, table: Table, ids: Iterable[int]) -> None:
    """Row-lock these rows of `table` (by id) until the transaction ends, in id order so
    that two importers cannot deadlock; SQLite's writer lock (`begin_writing`) already
    serialises writers there."""
    ordered = sorted(set(ids))
    if not ordered or conn.dialect.name != "postgresql":
        return
    wanted = func.unnest(bindparam("ids", ordered, type_=postgresql.ARRAY(table.c.id.type))
                         ).table_valued("value").render_derived("wanted")
    conn.execute(select(table.c.id).select_from(table.join(wanted, table.c.id == wanted.c.value))
                 .order_by(table.c.id).with_for_update(of=table))


def insert_new(conn: Connection, table: Table, rows: list[dict[str, Any]],
                key: tuple[str, ...]) -> set[tuple[Any, ...]]:
    """INSERT ... ON CONFLICT (key) DO NOTHING, in key order; the keys actually inserted.

    A concurrent import may have inserted some of the same keys since they were read: those
    are skipped here rather than failing, and the caller re-reads them. Key order gives every
    import the same lock order, so two of them cannot deadlock.
    """
    if not rows:
        return set()
    rows = sorted(rows, key=lambda r: tuple(r[k] for k in key))
    returning = [table.c[k] for k in key]
    if conn.dialect.name == "postgresql":
        columns = list(rows[0])
        staged = _pg_stage(conn, table, columns, rows, "new")
        from_staged = (postgresql.insert(table)
                       .from_select(columns, select(*(staged.c[c] for c in columns))
                                    .order_by(*(staged.c[k] for k in key)))
                       .on_conflict_do_nothing(index_elements=list(key)).returning(*returning))
        return {tuple(r) for r in conn.execute(from_staged)}
    stmt = (sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
            .returning(*returning))
    done: set[tuple[Any, ...]] = set()
    for start in range(0, len(rows), WRITE_CHUNK):
        result = conn.execute(stmt, rows[start:start + WRITE_CHUNK])
        done.update(tuple(r) for r in result.all())
    return done


def update_rows(conn: Connection, table: Table, rows: list[dict[str, Any]],
                 columns: Sequence[str], *, bump_version: bool = False) -> None:
    """Set `columns` from each row on the stored row with its `id`, in bulk and in id order."""
    if not rows:
        return
    rows = sorted(rows, key=lambda r: r["id"])  # one lock order for every import: no deadlocks
    bump: dict[str, Any] = (
        {"version": table.c.version + 1, "updated_at": utcnow()} if bump_version else {})
    if conn.dialect.name == "postgresql":
        staged = _pg_stage(conn, table, ["id", *columns], rows, "changed")
        # UPDATE ... FROM locks rows in join order; lock them in id order first instead.
        conn.execute(select(table.c.id).where(table.c.id.in_(select(staged.c.id)))
                     .order_by(table.c.id).with_for_update())
        conn.execute(update(table).where(table.c.id == staged.c.id)
                     .values({**{c: staged.c[c] for c in columns}, **bump}))
        return
    stmt = (update(table).where(table.c.id == bindparam("row_id"))
            .values({**{c: bindparam(f"v_{c}") for c in columns}, **bump}))
    params = [{"row_id": r["id"], **{f"v_{c}": r[c] for c in columns}} for r in rows]
    for start in range(0, len(params), WRITE_CHUNK):
        conn.execute(stmt, params[start:start + WRITE_CHUNK])


def _pg_stage(conn: Connection, table: Table, columns: Sequence[str],
              rows: list[dict[str, Any]], suffix: str) -> TableClause:
    """Rows COPYed into a temporary table with `table`'s column types (PostgreSQL only).

    COPY is several times faster than multi-row INSERTs; the set-based INSERT ... SELECT or
    UPDATE ... FROM that follows then runs inside the server.
    """
    name = f"import_{table.name}_{suffix}"
    quoted = ", ".join(f'"{c}"' for c in columns)
    # Dropped first: inside a test's outer transaction ON COMMIT has not happened yet.
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{name}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS "
                         f"SELECT {quoted} FROM {table.name} WITH NO DATA")
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_plain(row[c]) for c in columns])
    return sql_table(name, *(column(c) for c in columns))


def _plain(value: Any) -> Any:
    # Enum columns store the value; COPY must not depend on how the driver adapts enums.
    return value.value if isinstance(value, Enum) else value


def same_values(stored: Any, new: dict[str, Any], fields: Sequence[str]) -> bool:
    return all(getattr(stored, f) == new[f] for f in fields)
