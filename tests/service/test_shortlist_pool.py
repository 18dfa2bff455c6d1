"""The shortlist's narrow query path (look-back window -> pool -> whole histories of the pool
only) gives exactly the list that reading and scoring the area's whole register gives."""

from datetime import date

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from scoring import score_people
from scoring.shortlist import Shortlist, migration_shortlist
from service.config import get_settings
from service.demo.generate import generate_demo
from service.demo.load import load_demo
from service.deps import get_shortlist_config, scorer_for
from service.frames import Filters, custody_frame, memberships_frame, offences_frame, persons_frame
from service.scorer import Scorer
from service.store import shortlists as store
from tests.factories import offence_body, person_body

END = date(2025, 12, 31)


@pytest.fixture(scope="module")
def demo(engine: Engine) -> None:
    """A small demo force, committed into this module's own database."""
    load_demo(engine, generate_demo(people=1500, end=END))


@pytest.fixture
def scorer() -> Scorer:
    return scorer_for(get_settings())


def _everyone(session: Session, scorer: Scorer, *, area: str, stream: str, as_of: date,
              **kw: object) -> Shortlist:
    """The old way: the area's whole register plus referred people, everyone scored."""
    conn = session.connection()
    refs = store._referrals(conn, area=area, stream=stream)
    home = Filters(areas=[area], offences_until=as_of)
    residents = set(persons_frame(conn, home)["person_id"].tolist())
    # Referred people from elsewhere are read by id (residents are already in the area's
    # read; identical offences of one person are real rows, so nothing is de-duplicated).
    visitors = Filters(person_ids=sorted(set(refs["person_id"].tolist()) - residents),
                       offences_until=as_of)
    frames = [(offences_frame(conn, f), persons_frame(conn, f), custody_frame(conn, f))
              for f in (home, visitors)]
    off, per, cus = (pd.concat([f[i] for f in frames], ignore_index=True) for i in range(3))
    off = off.sort_values(["person_id", "offence_date"], kind="stable", ignore_index=True)
    per = per.sort_values("person_id", ignore_index=True)
    cus = cus.sort_values(["person_id", "start_on"], kind="stable", ignore_index=True)
    scores = score_people(off, per, cus, as_of=as_of, catalogue=scorer.catalogue,
                          config=scorer.config, model=scorer.model)
    return migration_shortlist(scores, off, per, cus, memberships_frame(conn), refs,
                               as_of=as_of, area=area, stream=stream,
                               config=get_shortlist_config(get_settings()),
                               catalogue_table=scorer.catalogue.table, **kw)  # type: ignore[arg-type]


def test_narrow_query_path_equals_scoring_the_whole_area(
        demo: None, client: TestClient, session: Session, scorer: Scorer) -> None:
    # Referrals: one from another area (with qualifying offences), one closed, one open.
    other = client.post("/persons", json=person_body(home_area="BANES")).json()["id"]
    client.post(f"/persons/{other}/offences", json=offence_body(offence_date="2025-06-01"))
    quiet = client.post("/persons", json=person_body(home_area="BRISTOL")).json()["id"]
    for pid, stream in ((other, "nsac"), (quiet, "nsac"), (quiet, "high_harm")):
        resp = client.post("/referrals", json={
            "person_id": pid, "referring_agency": "probation", "requested_stream": stream,
            "reason": "professional judgement", "referred_on": "2025-10-01", "area": "BRISTOL"})
        assert resp.status_code == 201, resp.text
    checked = 0
    for stream in ("nsac", "domestic_abuse", "high_harm"):
        for as_of in (END, date(2025, 9, 30)):
            for wider in (False, True):
                kw = {"rank_by": "risk", "limit": None, "include_other_areas": wider}
                new = store._compute(session=session, scorer=scorer, area="BRISTOL",
                                     stream=stream, as_of=as_of,
                                     config=get_shortlist_config(get_settings()), **kw).result
                old = _everyone(session, scorer, area="BRISTOL", stream=stream, as_of=as_of,
                                **kw)
                assert len(new.candidates) > 5, (stream, as_of)
                pd.testing.assert_frame_equal(new.candidates, old.candidates)
                pd.testing.assert_frame_equal(new.excluded, old.excluded)
                assert new.criteria == {**old.criteria, "knowledge": "current"}
                checked += 1
    assert checked == 12
    # Only the pool is read in full, and it is much smaller than the area.
    conn = session.connection()
    refs = store._referrals(conn, area="BRISTOL", stream="nsac")
    pool = store.candidate_pool(conn, as_of=END, area="BRISTOL", stream="nsac",
                                config=get_shortlist_config(get_settings()),
                                table=scorer.catalogue.table, referrals=refs)
    area_people = len(persons_frame(conn, Filters(areas=["BRISTOL"])))
    assert {other, quiet} <= set(pool.tolist()) and len(pool) < area_people / 3
