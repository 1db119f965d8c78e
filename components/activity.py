"""When the server last worked for a user: the background warm-up waits for a quiet moment, so
it never competes with a request (on 2 cores, Python threads share one interpreter lock).

Two signals: every HTTP request's start (an ASGI middleware, :class:`RequestActivity`), and every
handler call from start to end (:func:`handling`, used by the handler wrappers in ``common``);
queued work runs outside the HTTP request that submitted it, so the first alone would miss it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

_lock = threading.Lock()
_last = time.monotonic()  # the last request start or handler end
_running = 0  # handlers running now


def touch() -> None:
    """Note that the server is doing something for a user now."""
    global _last
    with _lock:
        _last = time.monotonic()


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Count a handler call as activity from its start to its end."""
    global _running, _last
    with _lock:
        _running += 1
        _last = time.monotonic()
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            _last = time.monotonic()


def quiet_for() -> float:
    """Seconds since the server last worked for a user; 0 while a handler runs."""
    with _lock:
        return 0.0 if _running else time.monotonic() - _last


def wait_until_quiet(seconds: float, poll_s: float = 0.05) -> None:
    """Block until the server has been quiet for ``seconds``."""
    while (quiet := quiet_for()) < seconds:
        time.sleep(max(poll_s, seconds - quiet))


class RequestActivity:
    """ASGI middleware: every HTTP request's start is activity (long-lived event streams count once,
    when they open; the work they carry is counted by :func:`handling`)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            touch()
        await self.app(scope, receive, send)
