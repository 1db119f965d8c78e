"""Fixtures for the unit tests."""

from __future__ import annotations

import pytest

from audiolab.core import cache
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import models as w2v_models
from tests.fixtures import wav2vec2_tiny as tiny


@pytest.fixture
def fresh_wav2vec2_cache():
    """An empty model cache and emissions memo before and after the test."""
    cache.CACHE.clear()
    w2v._MEMO.clear()
    yield
    cache.CACHE.clear()
    w2v._MEMO.clear()


@pytest.fixture
def tiny_en(tmp_path, monkeypatch):
    """``local:tiny-en`` (HF layout, normalises its input) in ``AUDIOLAB_MODEL_DIR``; returns the reference."""
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    model = tiny.hf_model(0)
    tiny.write_hf_folder(tmp_path / "models" / "tiny-en", model)
    return model
