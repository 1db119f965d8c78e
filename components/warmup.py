"""Start-up warm-up: once the server is up, run in the background what every tab's first
request would otherwise pay for (codec libraries, resampling kernels, transforms, renderers,
fonts, matplotlib), so a user's first request is as fast as the next ones. Each step waits for
a quiet moment (:mod:`components.activity`): warming never slows a request that is running.

Each step calls the engine on a tiny synthetic clip (0.25 s of a chirp); a step that fails
is logged and skipped: warming never stops the app.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

import torch

from components import activity

log = logging.getLogger("audiolab.warmup")

RATE = 16_000


def _clip(seconds: float = 0.25) -> torch.Tensor:
    """A ``(1, time)`` float32 chirp, 200 Hz to 4 kHz at half scale."""
    t = torch.arange(int(RATE * seconds), dtype=torch.float64) / RATE
    phase = 2 * math.pi * (200 * t + (4000 - 200) / (2 * seconds) * t**2)
    return (0.5 * torch.sin(phase)).to(torch.float32).unsqueeze(0)


def _codecs(x: torch.Tensor) -> None:
    from audiolab.core import io as aio

    for fmt in ("wav", "flac", "mp3", "ogg"):
        data = aio.encode(x, RATE, fmt)
    aio.info(data)
    aio.decode(data)


def _views(x: torch.Tensor) -> None:
    from audiolab.core import io as aio
    from audiolab.core import plots

    y = aio.resample(x, RATE, 8000)
    plots.waveform_image(y, 8000)
    plots.spectrogram_image(x, RATE)


def _features(x: torch.Tensor) -> None:
    from audiolab.features import compute as features
    from audiolab.features import figures

    for name in ("mel_spectrogram", "mfcc", "pitch_nccf"):
        figures.figure(features.compute(x, RATE, name))


def _augment(x: torch.Tensor) -> None:
    from audiolab.augment import compute as augment

    augment.run_chain(x, RATE, [{"op": "time_stretch", "rate": 1.25}, {"op": "gain", "gain_db": -6}])


def _griffinlim(x: torch.Tensor) -> None:
    from audiolab.griffinlim import compute as griffinlim

    r = griffinlim.reconstruct(x, RATE, n_fft=256, hop_length=64, win_length=256, n_iter=2)
    griffinlim.convergence_image(r.convergence_db, title="warm-up")


def _result_files(x: torch.Tensor) -> None:
    from components import common

    common.audio_file("warmup.wav", x, RATE)
    from audiolab.core import plots

    common.image_file(plots.waveform_image(x, RATE), "warmup.png")


STEPS: dict[str, Callable[[torch.Tensor], None]] = {
    "codecs": _codecs,
    "views": _views,
    "features": _features,
    "augment": _augment,
    "griffinlim": _griffinlim,
    "result files": _result_files,
}


QUIET_S = 0.5  # a step starts once no request has come or run for this long


def warm_up(quiet_s: float = 0.0) -> dict[str, float]:
    """Run every step once, each when the server has been quiet for ``quiet_s`` (see
    :mod:`components.activity`); returns seconds per step (a failed step is logged, not raised)."""
    x, seconds = _clip(), {}
    for name, step in STEPS.items():
        activity.wait_until_quiet(quiet_s)
        start = time.perf_counter()
        try:
            step(x)
        except Exception:
            log.warning("warm-up step %r failed", name, exc_info=True)
        seconds[name] = time.perf_counter() - start
    log.info("warm-up done in %.2f s: %s", sum(seconds.values()), {k: round(v, 3) for k, v in seconds.items()})
    return seconds


def start() -> threading.Thread:
    """Warm up in a daemon thread, between requests (call once the server is up); returns the thread."""
    thread = threading.Thread(target=warm_up, args=(QUIET_S,), name="audiolab-warm-up", daemon=True)
    thread.start()
    return thread
