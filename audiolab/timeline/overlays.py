"""Overlays the timeline computes when asked: pitch with voicing, spectral centroid, loudness.

Each is the Features tab's own computation (``audiolab.features.compute.compute`` with its
defaults), so the value under the cursor equals what that tab reports for the same audio.
"""

from __future__ import annotations

import torch

from audiolab.features import compute as features
from audiolab.timeline import compute as timeline

KEYS = ("pitch", "centroid", "loudness")


def pitch(waveform: torch.Tensor, sample_rate: int) -> dict:
    """f0 in Hz of each channel (``pitch_nccf``; NaN where unvoiced), frame ``i`` at ``i x 10 ms``."""
    result = features.compute(waveform, sample_rate, "pitch_nccf")
    shift = result.params["frame_shift_ms"] / 1000
    return timeline.overlay(result.tensor[..., 1], key="pitch", name="f0", unit="Hz", t0=0.0, dt=shift) | _notes(result)


def centroid(waveform: torch.Tensor, sample_rate: int) -> dict:
    """Spectral centroid in Hz of each channel (``T.SpectralCentroid``), frame ``i`` at ``i x hop``."""
    result = features.compute(waveform, sample_rate, "spectral_centroid")
    hop = result.params["hop_length"] or result.params["n_fft"] // 2
    rate = result.sample_rate
    return timeline.overlay(result.tensor, key="centroid", name="centroid", unit="Hz", t0=0.0, dt=hop / rate) | _notes(
        result
    )


def loudness(waveform: torch.Tensor, sample_rate: int) -> dict:
    """Momentary loudness in LUFS (ITU-R BS.1770, 400 ms blocks every 100 ms; block ``k`` centred
    at ``0.2 + 0.1 k`` s), on its own axis."""
    result = features.compute(waveform, sample_rate, "loudness")
    momentary = result.extra["momentary"]
    return timeline.overlay(momentary, key="loudness", name="loudness", unit="LUFS", t0=0.2, dt=0.1, axis="own") | (
        _notes(result)
    )


def _notes(result: features.FeatureResult) -> dict:
    return {"notes": list(result.notes)}


def compute(key: str, waveform: torch.Tensor, sample_rate: int) -> dict:
    """The overlay named ``key`` (one of :data:`KEYS`)."""
    return {"pitch": pitch, "centroid": centroid, "loudness": loudness}[key](waveform, sample_rate)
