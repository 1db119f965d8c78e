"""A computed feature as timeline layers and overlays, on the clip's time axis.

Frame ``k`` of an STFT-based feature (``center=True``) is centred at ``k x hop_length / rate`` s;
spectrograms are shown in dB (as computed when the tab's dB option is on, else ``10 log10`` of
the power, floor 1e-10), the other features in their own
values and units. One-value-per-frame features (spectral centroid, pitch) become overlays on the
spectrogram's frequency axis; loudness becomes the momentary loudness line.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from audiolab.core import limits
from audiolab.features import compute as ft
from audiolab.timeline import compute as timeline

ROW_NAMES = {  # the name of a feature's rows in the readout
    "spectrogram": "bin",
    "mel_spectrogram": "mel bin",
    "mfcc": "MFCC coefficient",
    "lfcc": "LFCC coefficient",
    "deltas": "coefficient",
    "cmn": "coefficient",
}


def _db(power: torch.Tensor) -> torch.Tensor:
    return 10.0 * torch.log10(power.clamp_min(1e-10))


def _mel_centres(result: ft.FeatureResult) -> list[float] | None:
    """Centre frequency in Hz of each mel filter (its peak), from the filterbank used."""
    bank = result.extra.get("filterbank")
    if bank is None:
        return None
    bank = torch.as_tensor(bank)
    n_freqs = bank.shape[0]
    hz = torch.linspace(0, result.sample_rate / 2, n_freqs)
    return [float(hz[i]) for i in bank.argmax(0)]


def feature_layers(result: ft.FeatureResult) -> tuple[list[dict], list[dict]]:
    """``(layers, overlays)`` of ``result`` for a track of ``result.waveform`` at ``result.sample_rate``."""
    name, x, rate, p = result.name, result.tensor.detach().float().cpu(), result.sample_rate, result.params
    hop = p.get("hop_length") or (p.get("win_length") or p.get("n_fft") or 400) // 2
    dt = hop / rate
    if name in ("spectrogram", "mel_spectrogram") and x.is_complex():
        x = x.abs().square()
    if name in ("spectrogram", "mel_spectrogram"):
        power = p.get("power") or 2.0
        # in dB already when the tab's AmplitudeToDB was on: shown as computed
        values = x if p.get("db") else _db(x if power == 2.0 else x.abs().pow(2.0 / power))
        floor = max(float(values.min()), float(values.max()) - 100.0)
        row_hz = [k * rate / p["n_fft"] for k in range(x.shape[-2])] if name == "spectrogram" else _mel_centres(result)
        return [timeline.layer(values, name=name, t0=0.0, dt=dt, unit="dB", row_name=ROW_NAMES[name],
                               row_hz=row_hz, vmin=floor)], []  # fmt: skip
    if name in ("mfcc", "lfcc", "cmn"):
        return [timeline.layer(x, name=name, t0=0.0, dt=dt, unit="", row_name=ROW_NAMES[name], cmap="magma")], []
    if name == "deltas":
        return [
            timeline.layer(x[:, order], name=label, t0=0.0, dt=dt, unit="", row_name="coefficient", cmap="magma")
            for order, label in enumerate(("delta", "delta-delta"))
        ], []
    if name == "spectral_centroid":
        return [], [timeline.overlay(x, key="centroid", name="spectral centroid", unit="Hz", t0=0.0, dt=dt)]
    if name == "pitch_detect":
        frame = p.get("frame_time") or 0.01
        return [], [timeline.overlay(x, key="pitch", name="pitch_detect", unit="Hz", t0=frame / 2, dt=frame)]
    if name == "pitch_nccf":
        shift = (p.get("frame_shift_ms") or 10.0) / 1000
        return [], [timeline.overlay(x[..., 1], key="pitch", name="f0 (pitch_nccf)", unit="Hz", t0=0.0, dt=shift)]
    if name == "loudness" and result.extra.get("momentary") is not None:
        momentary = torch.as_tensor(result.extra["momentary"]).float()
        return [], [timeline.overlay(momentary, key="loudness", name="loudness", unit="LUFS", t0=0.2, dt=0.1,
                                     axis="own")]  # fmt: skip
    return [], []


def emission_layer(log_probs: torch.Tensor, tokens: list[str], seconds_per_frame: float) -> dict:
    """wav2vec2 emissions ``(frame, token)`` log-probabilities as a heatmap layer (probability 0-1),
    frame ``k`` centred at ``(k + 0.5) x seconds_per_frame``."""
    probs = log_probs.detach().float().cpu().exp().T  # (token, frame)
    labels = [t if t.strip() else "␣" for t in tokens]
    return timeline.layer(probs, name="emissions", t0=seconds_per_frame / 2, dt=seconds_per_frame, unit="p",
                          row_name="token", row_labels=labels, cmap="magma", vmin=0.0, vmax=1.0)  # fmt: skip


def finite_or_none(value: float) -> float | None:
    """``value`` when finite, else None (JSON has no NaN)."""
    return value if isinstance(value, int | float) and math.isfinite(value) else None


def _pool_signed(values: np.ndarray, axis: int, groups: int) -> np.ndarray:
    """The value of largest magnitude in each of ``groups`` even groups along ``axis`` (keeps sign)."""
    n = values.shape[axis]
    if n <= groups:
        return values
    starts = np.floor(np.arange(groups) * n / groups).astype(np.int64)
    hi, lo = np.maximum.reduceat(values, starts, axis=axis), np.minimum.reduceat(values, starts, axis=axis)
    return np.where(np.abs(lo) > np.abs(hi), lo, hi)


def difference_layer(values_db: np.ndarray, *, name: str, seconds_per_column: float, hz_per_row: float,
                     limit_db: float) -> dict:  # fmt: skip
    """A signed difference spectrogram ``(channel, freq, time)`` in dB (B minus A) as a heatmap layer on
    a diverging colormap over ``[-limit_db, limit_db]``; rows and columns pooled to the timeline's
    sizes keeping the largest change of each group, so no change disappears when pooled."""
    values = np.asarray(values_db, dtype=np.float32)
    rows, cols = values.shape[-2], values.shape[-1]
    pooled = _pool_signed(_pool_signed(values, -2, limits.TIMELINE_OVERVIEW_ROWS), -1, limits.TIMELINE_OVERVIEW_COLS[1])
    row_hz = [float(np.floor(i * rows / pooled.shape[-2]) * hz_per_row) for i in range(pooled.shape[-2])]
    dt = seconds_per_column * cols / pooled.shape[-1]
    return timeline.layer(pooled, name=name, t0=(dt - seconds_per_column) / 2, dt=dt, unit="dB", row_name="bin",
                          row_hz=row_hz, cmap=timeline.DIVERGING, vmin=-limit_db, vmax=limit_db)  # fmt: skip
