"""change feed

Revision ID: d4efa5a2744d
Revises: 7c1d2e9a4b60
Create Date: 2026-12-03 09:00:00.000000

Every INSERT, UPDATE and DELETE on persons, offences, custody_periods, cohort_memberships,
referrals and decisions writes rows into `changes`, from database triggers, so every write
path (ORM, Core bulk imports, COPY in the demo loader, erasure) is captured without the
application's help.

PostgreSQL: statement-level AFTER triggers with transition tables (one INSERT ... SELECT
per statement, not a function call per row: COPY of a million rows stays one statement).
Each row records the writing transaction (pg_current_xact_id()); the transaction's row in
`change_commits` gets its commit position from a deferred constraint trigger that runs at
COMMIT, holding a transaction-level advisory lock (the commit fence) in shared mode until
the commit is visible. A reader takes the fence exclusively in a transaction of its own,
reads the sequence and lets go: every position up to that value belongs to a finished
transaction, so nothing can later appear below it. Writers never wait for each other; a
reader waits only for commits already under way. The feed is ordered by
(commit position, seq): commit order wherever one transaction saw or overwrote another's
work.

SQLite: row-level AFTER triggers. Writers are serialised by the database lock, so `seq`
(the rowid: one more than the largest, and pruning always keeps the newest entry) is
already commit order.

A later migration that makes SQLite recreate one of these tables (batch mode with a
constraint change) drops its triggers with it: create them again there
(tests/service/test_changes.py checks every captured table has its three triggers).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = 'd4efa5a2744d'
down_revision: str | None = '7c1d2e9a4b60'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (entity, person_id expression on a row alias, has a version column)
CAPTURED = {
    "persons": ("person", "{r}.id", True),
    "offences": ("offence", "{r}.person_id", True),
    "custody_periods": ("custody", "{r}.person_id", True),
    "cohort_memberships": ("membership", "{r}.person_id", True),
    "referrals": ("referral", "{r}.person_id", True),
    "decisions": ("decision", "{r}.person_id", False),
}
# The advisory lock of the commit fence ('iomfeed' in ASCII; service/store/changes.py).
COMMIT_LOCK = 0x696F6D66656564

_COLUMNS = "xid, at, entity, entity_id, person_id, op, version"


def upgrade() -> None:
    op.create_table('changes',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('xid', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('entity', sa.Enum('person', 'offence', 'custody', 'membership', 'referral', 'decision', name='changeentity', native_enum=False, length=32), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('op', sa.Enum('create', 'update', 'delete', 'erase', name='changeop', native_enum=False, length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_changes'))
    )
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index('ix_changes_xid_seq', ['xid', 'seq'], unique=False)

    op.create_table('change_commits',
    sa.Column('xid', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('pos', sa.BigInteger(), nullable=True),
    sa.Column('committed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('xid', name=op.f('pk_change_commits')),
    sa.UniqueConstraint('pos', name=op.f('uq_change_commits_pos'))
    )
    op.create_table('changes_pruned',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pos', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('pruned_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_changes_pruned'))
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_triggers()
    else:
        _sqlite_triggers()


def _postgres_triggers() -> None:
    op.execute("CREATE SEQUENCE change_commit_pos AS bigint")
    op.execute(f"""
        CREATE FUNCTION changes_commit_position() RETURNS trigger AS $$
        BEGIN
            -- Runs at COMMIT (deferred), holding the commit fence shared until the commit
            -- is visible (or rolled back). A reader takes the fence exclusively for a moment
            -- and reads the sequence: every position up to that value is then final.
            PERFORM pg_advisory_xact_lock_shared({COMMIT_LOCK});
            UPDATE change_commits SET pos = nextval('change_commit_pos'),
                                      committed_at = clock_timestamp()
             WHERE xid = NEW.xid;
            RETURN NULL;
        END;
        $$ LANGUAGE plpgsql
    """)
    op.execute("""
        CREATE CONSTRAINT TRIGGER change_commits_position AFTER INSERT ON change_commits
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION changes_commit_position()
    """)
    for table, (entity, person, versioned) in CAPTURED.items():
        version = "n.version" if versioned else "NULL"
        # A decision stripped by an erasure loses its person_id: the entry names the
        # person it was stripped from.
        if table == "decisions":
            updated_person = "COALESCE(n.person_id, o.person_id)"
            updated_rows = "new_rows n JOIN old_rows o ON o.id = n.id"
        else:
            updated_person, updated_rows = person.format(r="n"), "new_rows n"
        deleted_op = "erase" if table == "persons" else "delete"
        op.execute(f"""
            CREATE FUNCTION changes_capture_{table}() RETURNS trigger AS $$
            DECLARE
                tx bigint;
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    IF NOT EXISTS (SELECT 1 FROM old_rows) THEN RETURN NULL; END IF;
                ELSIF NOT EXISTS (SELECT 1 FROM new_rows) THEN
                    RETURN NULL;
                END IF;
                tx := pg_current_xact_id()::text::bigint;
                INSERT INTO change_commits (xid) VALUES (tx) ON CONFLICT (xid) DO NOTHING;
                IF TG_OP = 'INSERT' THEN
                    INSERT INTO changes ({_COLUMNS})
                    SELECT tx, statement_timestamp(), '{entity}', n.id, {person.format(r='n')},
                           'create', {version}
                      FROM new_rows n ORDER BY n.id;
                ELSIF TG_OP = 'UPDATE' THEN
                    INSERT INTO changes ({_COLUMNS})
                    SELECT tx, statement_timestamp(), '{entity}', n.id, {updated_person},
                           'update', {version}
                      FROM {updated_rows} ORDER BY n.id;
                ELSE
                    INSERT INTO changes ({_COLUMNS})
                    SELECT tx, statement_timestamp(), '{entity}', o.id, {person.format(r='o')},
                           '{deleted_op}', NULL
                      FROM old_rows o ORDER BY o.id;
                END IF;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql
        """)
        for event, ref in (("INSERT", "NEW TABLE AS new_rows"),
                           ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                           ("DELETE", "OLD TABLE AS old_rows")):
            op.execute(f"""
                CREATE TRIGGER {table}_changes_{event.lower()} AFTER {event} ON {table}
                REFERENCING {ref} FOR EACH STATEMENT
                EXECUTE FUNCTION changes_capture_{table}()
            """)


# SQLAlchemy's SQLite text for a UTC timestamp: 'YYYY-MM-DD HH:MM:SS.ffffff'.
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now') || '000'"


def _sqlite_triggers() -> None:
    for table, (entity, person, versioned) in CAPTURED.items():
        for event, row, what in (("INSERT", "NEW", "'create'"), ("UPDATE", "NEW", "'update'"),
                                 ("DELETE", "OLD", "'erase'" if table == "persons"
                                  else "'delete'")):
            version = f"{row}.version" if versioned and event != "DELETE" else "NULL"
            who = person.format(r=row)
            if table == "decisions" and event == "UPDATE":
                who = "COALESCE(NEW.person_id, OLD.person_id)"
            op.execute(f"""
                CREATE TRIGGER {table}_changes_{event.lower()} AFTER {event} ON {table}
                FOR EACH ROW BEGIN
                    INSERT INTO changes ({_COLUMNS})
                    VALUES (0, {_SQLITE_NOW}, '{entity}', {row}.id, {who}, {what}, {version});
                END
            """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CAPTURED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_changes_{event} ON {table}")
            op.execute(f"DROP FUNCTION changes_capture_{table}()")
        op.execute("DROP TRIGGER change_commits_position ON change_commits")
        op.execute("DROP FUNCTION changes_commit_position()")
        op.execute("DROP SEQUENCE change_commit_pos")
    else:
        for table in CAPTURED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_changes_{event}")
    op.drop_table('changes_pruned')
    op.drop_table('change_commits')
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index('ix_changes_xid_seq')

    op.drop_table('changes')
