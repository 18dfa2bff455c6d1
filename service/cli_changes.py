"""`iomscore changes prune`, the change feed's one prune, through the bare driver
(service.rawdb): the models and the store cost more than a second of imports, more than a
prune takes (issue 16). It takes the commit fence service.store.changes takes
(service.change_fence)."""

import argparse
import sys
from datetime import UTC, datetime, timedelta

from service.change_fence import LAST_SEQ, READ_POSITION, TAKE_FENCE, final_position
from service.cli_keys import command_database_url, no_schema
from service.rawdb import NoSchema, RawConnection, connect, execute, is_sqlite, timestamp


def _final_position(conn: RawConnection) -> int:
    # As service.store.changes._final_position: the fence taken and let go in a savepoint.
    conn.execute("SAVEPOINT fence")
    conn.execute(TAKE_FENCE)
    isolation, upto = conn.execute(READ_POSITION).fetchone()
    conn.execute("ROLLBACK TO SAVEPOINT fence")
    return final_position(isolation, upto)


def prune(conn: RawConnection, before: datetime) -> int:
    """Delete the entries of transactions committed before `before`; how many went."""
    if not is_sqlite(conn):
        upto = execute(conn, "SELECT max(pos) FROM change_commits WHERE committed_at < ? "
                             "AND pos <= ?", (before, _final_position(conn))).fetchone()[0]
        if upto is None:
            return 0
        gone = execute(conn, "DELETE FROM changes WHERE xid IN (SELECT xid FROM "
                             "change_commits WHERE pos <= ?)", (upto,)).rowcount
        execute(conn, "DELETE FROM change_commits WHERE pos <= ?", (upto,))
        mark = (int(upto), LAST_SEQ)
    else:
        # The newest entry stays: SQLite gives the next one the largest rowid plus one.
        upto = execute(conn, "SELECT min(max(seq), (SELECT max(seq) - 1 FROM changes)) "
                             "FROM changes WHERE at < ?", (timestamp(conn, before),)
                       ).fetchone()[0]
        if not upto:
            return 0
        gone = execute(conn, "DELETE FROM changes WHERE seq <= ?", (upto,)).rowcount
        mark = (0, int(upto))
    now = timestamp(conn, datetime.now(UTC))
    pruned = execute(conn, "SELECT pos, seq FROM changes_pruned WHERE id = 1").fetchone()
    if pruned is None:
        execute(conn, "INSERT INTO changes_pruned (id, pos, seq, pruned_at) "
                      "VALUES (1, ?, ?, ?)", (*mark, now))
    elif mark > tuple(pruned):
        execute(conn, "UPDATE changes_pruned SET pos = ?, seq = ?, pruned_at = ? WHERE id = 1",
                (*mark, now))
    return int(gone)


def changes_prune(args: argparse.Namespace) -> int:
    url = command_database_url("changes prune")
    if url is None:
        return 2
    before = datetime.now(UTC) - timedelta(days=args.older_than_days)
    try:
        with connect(url, write=True) as conn:
            gone = prune(conn, before)
    except NoSchema:
        return no_schema("changes prune")
    print(f"{gone} change-feed entries committed before {before:%Y-%m-%d %H:%M} UTC pruned",
          file=sys.stderr)
    return 0
