"""Fixtures for the unit tests."""

from __future__ import annotations

import pytest

from audiolab import asr, cache


@pytest.fixture
def fresh_asr_cache():
    """An empty model cache and emissions memo before and after the test."""
    cache.CACHE.clear()
    asr._MEMO.clear()
    yield
    cache.CACHE.clear()
    asr._MEMO.clear()
