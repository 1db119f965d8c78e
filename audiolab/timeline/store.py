"""Recent views' audio, kept so zoom tiles and overlays can be computed when the browser asks.

Bounded by ``TIMELINE_STORE_BYTES`` and ``TIMELINE_STORE_VIEWS`` (least recently used expire
first); view ids are random tokens, so one user cannot guess another's.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import torch

from audiolab.core import limits
from audiolab.core.errors import AudioLabError


@dataclass
class Source:
    """One track's audio ``(channel, time)`` float32 CPU, its rate, FFT size and dB ceiling."""

    waveform: torch.Tensor
    sample_rate: int
    n_fft: int
    db_max: float
    overlays: dict[str, dict] = field(default_factory=dict)  # computed on request, kept with the view

    @property
    def nbytes(self) -> int:
        return self.waveform.numel() * self.waveform.element_size()


class ViewStore:
    """Thread-safe LRU of ``view id -> [Source, ...]`` (one per track)."""

    def __init__(self, max_bytes: int = limits.TIMELINE_STORE_BYTES, max_views: int = limits.TIMELINE_STORE_VIEWS):
        self.max_bytes, self.max_views = max_bytes, max_views
        self._views: OrderedDict[str, list[Source]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, sources: list[Source]) -> str:
        """Keep ``sources`` under a new random id (evicting the least recently used); returns the id."""
        view_id = secrets.token_hex(12)
        with self._lock:
            self._views[view_id] = sources
            while len(self._views) > 1 and (len(self._views) > self.max_views or self.nbytes > self.max_bytes):
                self._views.popitem(last=False)
        return view_id

    def get(self, view_id: object) -> list[Source]:
        """The sources of ``view_id``; a clear message when it expired or never existed."""
        with self._lock:
            if isinstance(view_id, str) and view_id in self._views:
                self._views.move_to_end(view_id)
                return self._views[view_id]
        raise AudioLabError(
            "This view has expired (the server keeps recent ones only); run the tab again to zoom in.",
            zh="此视图已过期（服务器只保留最近的视图）；请重新运行本页以继续缩放。",
        )

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for sources in self._views.values() for s in sources)

    def __len__(self) -> int:
        return len(self._views)


STORE = ViewStore()
