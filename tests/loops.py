"""Running a coroutine from a test."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run(coro: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
    """``asyncio.run(coro)`` in a thread of its own; returns its result. A browser test (Playwright's sync
    API) may leave an event loop running in the main thread, where ``asyncio.run`` refuses."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coro).result(timeout=timeout)
