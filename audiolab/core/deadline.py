"""Wall-clock budgets for long-running work (iterations, chunks, epochs).

A loop creates ``Deadline(limits.REQUEST_BUDGET_S)`` (or receives one) and calls
``deadline.check("Griffin-Lim")`` once per step; past the budget it raises a clear
:class:`AudioLabError` instead of running on for minutes.
"""

from __future__ import annotations

import time

from audiolab.core import limits
from audiolab.core.errors import AudioLabError


class Deadline:
    """A point in time after which :meth:`check` raises."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = float(limits.REQUEST_BUDGET_S if seconds is None else seconds)
        self.start = time.monotonic()

    @property
    def elapsed(self) -> float:
        """Seconds since the deadline was created."""
        return time.monotonic() - self.start

    def check(self, what: str = "This request") -> None:
        """Raise ``AudioLabError`` if the budget is spent."""
        if self.elapsed > self.seconds:
            raise AudioLabError(
                f"{what} took longer than the {self.seconds:.0f} s limit and was stopped. "
                "Try shorter audio or fewer iterations.",
                zh=f"{what} 超过了 {self.seconds:.0f} 秒的时限，已停止。请使用更短的音频或更少的迭代次数。",
            )
