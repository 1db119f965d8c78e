"""Fixtures shared by every test layer."""

from __future__ import annotations

import pytest
import torch

from audiolab.core import cache
from tests import signals


@pytest.fixture
def sine_wav(tmp_path):
    """A 1 s, 440 Hz, 16 kHz mono 16-bit WAV file."""
    return signals.write(tmp_path / "sine.wav", signals.sine(), 16_000)


@pytest.fixture
def stereo_wav(tmp_path):
    """A 2 s, 44.1 kHz stereo 24-bit WAV: 440 Hz left, 660 Hz right."""
    x = torch.cat([signals.sine(440, 44_100, 2.0), signals.sine(660, 44_100, 2.0)])
    return signals.write(tmp_path / "stereo.wav", x, 44_100, subtype="PCM_24")


def devices() -> list:
    """``cpu``, plus ``cuda`` (skipped without a GPU): parametrize engine tests with it."""
    return [
        "cpu",
        pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")),
    ]


@pytest.fixture(params=devices())
def device(request):
    """Each available device in turn; the shared cache puts new entries there."""
    previous = cache.default_device()
    cache.set_default_device(request.param)
    yield request.param
    cache.set_default_device(previous)


@pytest.fixture(scope="session")
def app_url():
    """URL of the app launched once per session (same hardened settings as ``app.main``)."""
    import app

    _, url, _ = app.demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
    app.after_launch()
    yield url
    app.demo.close()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """The hostile-input corpus (tests/fixtures/hostile.py), built once per session."""
    from tests.fixtures import hostile

    return hostile.build(tmp_path_factory.mktemp("hostile"))
