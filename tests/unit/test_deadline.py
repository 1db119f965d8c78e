"""Wall-clock budgets stop long loops with a clear message."""

import time

import pytest

from audiolab.core.deadline import Deadline
from audiolab.core.errors import AudioLabError


def test_a_deadline_passes_within_budget_and_stops_after_it():
    deadline = Deadline(0.05)
    deadline.check("Loop")
    time.sleep(0.06)
    with pytest.raises(AudioLabError, match="Loop took longer than the 0 s limit"):
        deadline.check("Loop")
    assert deadline.elapsed >= 0.06
