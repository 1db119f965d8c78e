"""Gradio builds each block's config from ``inspect.signature(cls.__init__)``, once per block and
twice per launch (about 0.45 s of the start-up for this app's ~1,000 blocks). A class's
``__init__`` signature never changes, so ``gradio.blocks`` gets a memoising ``signature``; every
other ``inspect`` name is the module's own. Installed before the UI is built (``app.py``)."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from gradio import blocks as gradio_blocks


@functools.lru_cache(maxsize=8192)
def _cached(fn: Any) -> inspect.Signature:
    return inspect.signature(fn)


def signature(fn: Any, *args: Any, **kwargs: Any) -> inspect.Signature:
    """``inspect.signature``, remembered for plain functions (bound methods and other callables are
    not cached: they would keep their objects alive)."""
    if args or kwargs or not inspect.isfunction(fn):
        return inspect.signature(fn, *args, **kwargs)
    return _cached(fn)


class _Inspect:
    """The ``inspect`` module with a memoising :func:`signature`."""

    signature = staticmethod(signature)

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)


def install() -> None:
    """Give ``gradio.blocks`` the memoising ``inspect`` (idempotent)."""
    if not isinstance(gradio_blocks.inspect, _Inspect):
        gradio_blocks.inspect = _Inspect()
