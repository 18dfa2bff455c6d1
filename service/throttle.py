"""Throttling of failed sign-ins and of repeated 401s from one client address.

Only failures are counted, so a request that authenticates costs nothing here. Counts are
per client and fixed time window, kept where every worker sees them: in the database (a
row per client and window) or, where REDIS_URL is set, in Redis (INCR with an expiry).
Past the limit the client gets 429 with Retry-After until its window ends.
"""

import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from models import ThrottleCount
from service.deps import SessionDep, SettingsDep
from service.errors import DomainError

log = logging.getLogger(__name__)


class TooManyFailures(DomainError):
    status, title, slug = 429, "Too many requests", "too-many-requests"


@lru_cache
def _redis(url: str) -> Any:
    import redis  # only where REDIS_URL is set

    return redis.Redis.from_url(url, socket_timeout=2)


@dataclass
class Throttle:
    """Counts one client's failures in the current window."""

    session: Session
    max_failures: int
    window_seconds: int
    redis_url: str | None

    def _window(self, now: float) -> int:
        return int(now // self.window_seconds) * self.window_seconds

    def retry_after(self, client: str, *, now: float | None = None) -> int | None:
        """Seconds until `client` may try again, or None if it is under the limit."""
        now = time.time() if now is None else now
        window = self._window(now)
        if self.redis_url:
            count = int(_redis(self.redis_url).get(f"iom:throttle:{client}:{window}") or 0)
        else:
            row = self.session.get(ThrottleCount, (client, window))
            count = row.failures if row is not None else 0
        return self._wait(count, window, now)

    def failed(self, client: str, *, now: float | None = None) -> int | None:
        """Count one failure; the seconds to wait if that takes `client` over the limit."""
        now = time.time() if now is None else now
        window = self._window(now)
        if self.redis_url:
            name = f"iom:throttle:{client}:{window}"
            pipe = _redis(self.redis_url).pipeline()
            pipe.incr(name)
            pipe.expire(name, self.window_seconds)
            count = int(pipe.execute()[0])
        else:
            count = self._count_in_database(client, window)
        return self._wait(count, window, now)

    def _wait(self, count: int, window: int, now: float) -> int | None:
        if count <= self.max_failures:
            return None
        return max(1, int(window + self.window_seconds - now))

    def _count_in_database(self, client: str, window: int) -> int:
        # One UPDATE ... +1 (atomic on both databases); the first failure of a window
        # inserts, and an insert that loses a race to another worker updates instead.
        for _ in range(2):
            bump = (update(ThrottleCount)
                    .where(col(ThrottleCount.client) == client,
                           col(ThrottleCount.window_start) == window)
                    .values(failures=col(ThrottleCount.failures) + 1))
            if self.session.execute(bump).rowcount:  # type: ignore[attr-defined]
                break
            try:
                with self.session.begin_nested():
                    self.session.add(ThrottleCount(client=client, window_start=window,
                                                   failures=1))
                break
            except IntegrityError:
                continue
        # Earlier windows are of no more use.
        self.session.exec(delete(ThrottleCount)  # type: ignore[call-overload]
                          .where(col(ThrottleCount.window_start) < window))
        self.session.commit()
        return int(self.session.exec(
            select(ThrottleCount.failures).where(ThrottleCount.client == client,
                                                 ThrottleCount.window_start == window)).one())


def get_throttle(session: SessionDep, settings: SettingsDep) -> Throttle:
    """The throttle, counting where the settings say."""
    return Throttle(session=session, max_failures=settings.throttle_max_failures,
                    window_seconds=settings.throttle_window_seconds,
                    redis_url=settings.redis_url)


ThrottleDep = Annotated[Throttle, Depends(get_throttle)]


def client_of(request: Request) -> str:
    """The client's address (uvicorn's --proxy-headers sets it from a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def too_many(seconds: int) -> TooManyFailures:
    """The 429 a throttled client gets."""
    return TooManyFailures(f"too many failed sign-ins or unauthenticated requests from this "
                           f"address: try again in {seconds} s",
                           headers={"Retry-After": str(seconds)})


def check_failure(throttle: Throttle, request: Request) -> None:
    """Count a failed authentication; raise 429 once the client is over the limit."""
    client = client_of(request)
    wait = throttle.failed(client)
    if wait is not None:
        log.warning("throttled: too many authentication failures from one client")
        raise too_many(wait)
