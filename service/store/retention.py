"""The retention review over the register: read the frames, run the kernel's rule."""

from collections.abc import Sequence
from datetime import date

import pandas as pd
from sqlmodel import Session

from scoring.retention import RetentionRule, retention_review
from service.frames import Filters, custody_frame, memberships_frame, offences_frame, persons_frame


def people_due(*, session: Session, rule: RetentionRule, as_of: date,
               areas: Sequence[str] | None = None) -> pd.DataFrame:
    """Everyone due for review as of `as_of` among people living in `areas` (None: all),
    with their home area, in the kernel's order."""
    conn = session.connection()
    filters = Filters(areas=areas, offences_until=as_of)
    persons = persons_frame(conn, filters)
    people = set(persons["person_id"].tolist())
    members = memberships_frame(conn)
    due = retention_review(persons[["person_id", "deceased_on"]],
                           offences_frame(conn, filters)[["person_id", "offence_date"]],
                           custody_frame(conn, filters)[["person_id", "start_on", "end_on"]],
                           members[members["person_id"].isin(people)]
                           [["person_id", "adopted_on", "exited_on"]],
                           as_of=as_of, rule=rule)
    session.commit()  # a read: end its transaction before the response is built
    return due.merge(persons[["person_id", "home_area"]], on="person_id", how="left")
