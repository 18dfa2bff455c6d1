"""The small register the generated access table (test_access_table.py) calls every route on.

Two people: one living in BRISTOL ("in"), one in SOUTH_GLOS ("out"), each with an offence,
a custody spell, and a membership and a referral recorded in BRISTOL (so the out person
reaches BRISTOL's lists: memberships, referrals, shortlist, exit review), decisions for
both at a BRISTOL meeting, a finished score run of every area, change-feed entries; a
meeting and a (failed) score run per area; a
key per role and scope; two console sessions per key (one with a stated purpose, one
without). It is committed once per module: each case then runs in the per-test transaction
that is rolled back.
"""

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from models import ApiKeyCreate, ConsoleSession, Person, Role, RunStatus, ScoreRun, TrainingJob
from service.config import Settings
from service.console.session import COOKIE_NAME, console_secret, form_token, lifetimes
from service.db import get_session
from service.deps import scorer_for
from service.main import app
from service.scorer import execute_run
from service.security import principal_for_key
from service.store import sessions as session_store
from service.store.keys import create_key
from tests.factories import membership_body, offence_body, pnc_id

# Distinctive ids and name: any of them in an answer to a BRISTOL-only key is a leak.
IN_ID, OUT_ID = 5_550_001, 7_770_001
OUT_NAME = "Southglosterby"
AS_OF = "2024-06-30"
SCOPES = {"all": None, "BRISTOL": ["BRISTOL"]}


@dataclass
class Side:
    """One person and their records."""

    person: int
    pnc: str
    area: str
    offence: int = 0
    custody: int = 0
    membership: int = 0
    referral: int = 0
    meeting: int = 0  # a meeting of this side's area
    run: int = 0  # a score run of this side's area (failed: it never blocks a new one)


@dataclass
class Register:
    sides: dict[str, Side]
    keys: dict[tuple[str, str], str] = field(default_factory=dict)  # (role, scope) -> key
    # Console credentials by (role, scope, purpose stated?): the Cookie header and the form
    # token its POSTs carry.
    cookies: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    tokens: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    prefixes: list[str] = field(default_factory=list)  # of the keys, for forget_key
    spare_key: int = 0
    spare_session: int = 0  # a console session an admin may revoke
    training_job: int = 0

    @property
    def markers(self) -> tuple[str, ...]:
        """What identifies the out-of-area person in any answer (JSON, CSV, HTML)."""
        return str(OUT_ID), self.sides["out"].pnc, OUT_NAME


def _person(session: Session, person_id: int, area: str, family_name: str) -> str:
    pnc = pnc_id()
    session.add(Person(id=person_id, pnc_id=pnc, given_name="Alex", family_name=family_name,
                       date_of_birth=date(1990, 4, 1), sex="male", home_area=area))
    return pnc


def _created(client: TestClient, url: str, body: dict) -> int:
    resp = client.post(url, json=body)
    assert resp.status_code in (201, 202), (url, resp.text)
    return int(resp.json()["id"])


def build_register(engine: Engine, settings: Settings) -> Iterator[Register]:
    """Write the register, committed, into this module's database."""
    with Session(engine, expire_on_commit=False) as session:
        sides = {"in": Side(IN_ID, _person(session, IN_ID, "BRISTOL", "Bristolian"), "BRISTOL"),
                 "out": Side(OUT_ID, _person(session, OUT_ID, "SOUTH_GLOS", OUT_NAME),
                             "SOUTH_GLOS")}
        session.commit()
        register = Register(sides)
        for role in Role:
            for scope, areas in SCOPES.items():
                key, register.keys[role.value, scope] = create_key(session=session, key_in=(
                    ApiKeyCreate(name=f"{role.value} {scope}", role=role, areas=areas)))
                register.prefixes.append(key.prefix)
        spare, _ = create_key(session=session, key_in=ApiKeyCreate(name="spare",
                                                                   role=Role.analyst))
        register.spare_key = spare.id or 0
        job = TrainingJob(status=RunStatus.done)
        session.add(job)
        session.commit()
        register.training_job = job.id or 0
        app.dependency_overrides[get_session] = lambda: session
        client = TestClient(app, headers={
            "Authorization": f"Bearer {register.keys['admin', 'all']}",
            "X-Justification": "building the access table's register"})
        for side in sides.values():
            p = side.person
            side.offence = _created(client, f"/persons/{p}/offences",
                                    offence_body(offence_date="2024-05-01"))
            side.custody = _created(client, f"/persons/{p}/custody",
                                    {"start_on": "2019-01-01", "end_on": "2019-03-01"})
            side.membership = _created(client, "/cohort/memberships",
                                       membership_body(p, area="BRISTOL"))
            side.referral = _created(client, "/referrals", {
                "person_id": p, "referring_agency": "probation",
                "requested_stream": "nsac", "reason": "professional judgement",
                "referred_on": "2024-06-01", "area": "BRISTOL"})
            side.meeting = _created(client, "/meetings", {"area": side.area,
                                                          "held_on": "2024-07-05"})
            side.run = session.exec(ScoreRun.__table__.insert().values(  # type: ignore[attr-defined]
                as_of=date(2024, 6, 30), area=side.area, status=RunStatus.failed)
            ).inserted_primary_key[0]
        for side in sides.values():
            _created(client, f"/meetings/{sides['in'].meeting}/decisions", {
                "person_id": side.person, "decision": "defer", "stream": "nsac",
                "rationale": "next meeting"})
        run = ScoreRun(as_of=date(2024, 6, 30), area=None)
        session.add(run)
        session.commit()
        scorer = scorer_for(settings)
        execute_run(lambda: nullcontext(session), run.id or 0, scorer)
        session.commit()
        for (role, scope), key in register.keys.items():
            for purpose in (True, False):
                register.cookies[role, scope, purpose], register.tokens[role, scope, purpose] = \
                    console_credentials(session, key, settings,
                                        purpose="case review" if purpose else None)
        spare_token, _ = console_credentials(session, register.keys["analyst", "BRISTOL"],
                                             settings, purpose=None)
        register.spare_session = _session_row(session, spare_token, settings).id or 0
        app.dependency_overrides.pop(get_session, None)
    # Closed before the cases run: no connection of it left idle in a transaction.
    yield register


def _session_row(session: Session, cookie: str, settings: Settings) -> ConsoleSession:
    row = session_store.live_session(session=session, token=cookie.split("=", 1)[1],
                                     lifetimes=lifetimes(settings))
    assert row is not None
    return row


def console_credentials(session: Session, key: str, settings: Settings, *,
                        purpose: str | None) -> tuple[str, str]:
    """A console session for a key, as signing in with it starts one (and, if given, the
    purpose stated), without the form: the Cookie header and the form token its POSTs
    carry. The one place that knows how the console keeps a session; when sign-in
    changes, this changes with it."""
    principal = principal_for_key(session, key)
    assert principal is not None
    token = session_store.start_session(
        session=session, lifetimes=lifetimes(settings),
        who=session_store.Who(method="key", key_id=principal.key_id,
                              display_name=principal.name, role=principal.role,
                              areas=None if principal.areas is None else list(principal.areas)))
    cookie = f"{COOKIE_NAME}={token}"
    if purpose is not None:
        session_store.set_purpose(session=session, row=_session_row(session, cookie, settings),
                                  purpose=purpose)
    form = form_token(SimpleNamespace(cookies={COOKIE_NAME: token}),  # type: ignore[arg-type]
                      console_secret(settings))
    return cookie, form
