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
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, delete, select

from models import ThrottleCount
from service.config import Settings
from service.deps import SessionDep, SettingsDep
from service.errors import DomainError

log = logging.getLogger(__name__)


class TooManyFailures(DomainError):
    status, title, slug = 429, "Too many requests", "too-many-requests"


class CounterUnavailable(Exception):
    """Redis could not be reached."""


@lru_cache
def _redis(url: str) -> Any:
    import redis  # imported only where REDIS_URL is set (it costs start-up time)

    return redis.Redis.from_url(url, socket_timeout=2)


def _in_redis(url: str, name: str, *, bump: bool, expiry: int) -> int:
    from redis.exceptions import RedisError

    try:
        client = _redis(url)
        if not bump:
            return int(client.get(name) or 0)
        pipe = client.pipeline()
        pipe.incr(name)
        pipe.expire(name, expiry)
        return int(pipe.execute()[0])
    except RedisError as exc:
        raise CounterUnavailable from exc


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
            count = _in_redis(self.redis_url, f"iom:throttle:{client}:{window}", bump=False,
                              expiry=self.window_seconds)
        else:
            row = self.session.get(ThrottleCount, (client, window))
            count = row.failures if row is not None else 0
        return self._wait(count, window, now)

    def failed(self, client: str, *, now: float | None = None) -> int | None:
        """Count one failure; the seconds to wait if that takes `client` over the limit."""
        now = time.time() if now is None else now
        window = self._window(now)
        if self.redis_url:
            count = _in_redis(self.redis_url, f"iom:throttle:{client}:{window}", bump=True,
                              expiry=self.window_seconds)
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


def throttle_for(session: Session, settings: Settings) -> Throttle:
    """The throttle, counting where the settings say (binding it does no I/O)."""
    return Throttle(session=session, max_failures=settings.throttle_max_failures,
                    window_seconds=settings.throttle_window_seconds,
                    redis_url=settings.redis_url)


async def get_throttle(session: SessionDep, settings: SettingsDep) -> Throttle:
    """The throttle, as a dependency (async: a sync one is a thread hand-off)."""
    return throttle_for(session, settings)


ThrottleDep = Annotated[Throttle, Depends(get_throttle)]


def client_of(request: Request) -> str:
    """The client's address (uvicorn's --proxy-headers sets it from a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def too_many(seconds: int) -> TooManyFailures:
    """The 429 a throttled client gets."""
    return TooManyFailures(f"too many failed sign-ins or unauthenticated requests from this "
                           f"address: try again in {seconds} s",
                           headers={"Retry-After": str(seconds)})


def _fail_open(exc: Exception, throttle: Throttle) -> None:
    # A counter store that cannot be reached lets the request go on (to its 401, or to
    # checking the key): a throttle that failed closed would turn every sign-in into a 503
    # while the store is down.
    if isinstance(exc, SQLAlchemyError):
        throttle.session.rollback()
    log.warning("throttle counter unavailable: %s", type(exc).__name__)


def wait_before(throttle: Throttle, client: str) -> int | None:
    """Seconds `client` must wait before trying again (None: it may try now)."""
    try:
        return throttle.retry_after(client)
    except (SQLAlchemyError, CounterUnavailable) as exc:
        _fail_open(exc, throttle)
        return None


def count_failure(throttle: Throttle, client: str) -> int | None:
    """Count one failure; the seconds to wait if `client` is now over the limit."""
    try:
        return throttle.failed(client)
    except (SQLAlchemyError, CounterUnavailable) as exc:
        _fail_open(exc, throttle)
        return None


def check_failure(throttle: Throttle, request: Request) -> None:
    """Count a failed authentication; raise 429 once the client is over the limit."""
    wait = count_failure(throttle, client_of(request))
    if wait is not None:
        log.warning("throttled: too many authentication failures from one client")
        raise too_many(wait)
