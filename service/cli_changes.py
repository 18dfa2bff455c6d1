"""`iomscore changes prune`, the change feed's one prune, through the bare driver
(service.rawdb): the models and the store cost more than a second of imports, more than a
prune takes (issue 16). It takes the commit fence service.store.changes takes."""

import argparse
import sys
from datetime import UTC, datetime, timedelta

from service.config import get_settings
from service.rawdb import NoSchema, RawConnection, connect, execute, is_sqlite, supported, timestamp

# As service.store.changes: the fence's advisory lock and the seq covering a whole commit.
COMMIT_FENCE = 0x696F6D66656564
LAST_SEQ = 2**63 - 1


def _final_position(conn: RawConnection) -> int:
    # service.store.changes._final_position: the fence taken and let go in a savepoint.
    conn.execute("SAVEPOINT fence")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (COMMIT_FENCE,))
    isolation, upto = conn.execute(
        "SELECT current_setting('transaction_isolation'), "
        "CASE WHEN is_called THEN last_value ELSE 0 END FROM change_commit_pos").fetchone()
    conn.execute("ROLLBACK TO SAVEPOINT fence")
    if isolation != "read committed":
        raise RuntimeError(f"the change feed is read under READ COMMITTED, not {isolation}")
    return int(upto)


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
    url = get_settings().database_url
    if not supported(url):
        print("iomscore changes prune: give a SQLite file or PostgreSQL DATABASE_URL",
              file=sys.stderr)
        return 2
    before = datetime.now(UTC) - timedelta(days=args.older_than_days)
    try:
        with connect(url, write=True) as conn:
            gone = prune(conn, before)
    except NoSchema:
        print("iomscore changes prune: the database has no schema: run `iomscore migrate`",
              file=sys.stderr)
        return 1
    print(f"{gone} change-feed entries committed before {before:%Y-%m-%d %H:%M} UTC pruned",
          file=sys.stderr)
    return 0
