"""The change feed's commit fence (migration d4efa5a2744d), in plain SQL for both the store
(SQLAlchemy) and the command line's bare driver: committing transactions hold it shared
from taking their commit position until their commit is visible.

The final position is read with the fence taken exclusively inside a savepoint that is then
rolled back, which lets it go at once (it waits only for commits already under way, each
holding it shared). What is read after this in the same transaction sees every position up
to the value returned, because under READ COMMITTED each statement takes a fresh snapshot;
under REPEATABLE READ the transaction's snapshot could be older than the fence, so that is
refused rather than risk skipping a change.

Kept free of heavy imports: `iomscore changes prune` starts in well under a second.
"""

COMMIT_FENCE = 0x696F6D66656564
# The seq of a watermark that covers every entry of its commit position.
LAST_SEQ = 2**63 - 1

TAKE_FENCE = f"SELECT pg_advisory_xact_lock({COMMIT_FENCE})"
# (isolation level, the highest commit position handed out so far)
READ_POSITION = ("SELECT current_setting('transaction_isolation'), "
                 "CASE WHEN is_called THEN last_value ELSE 0 END FROM change_commit_pos")


def final_position(isolation: str, upto: int) -> int:
    """The final position from READ_POSITION's row, read under the fence; refused under
    any isolation but READ COMMITTED."""
    if isolation != "read committed":
        raise RuntimeError(f"the change feed is read under READ COMMITTED, not {isolation}")
    return int(upto)
