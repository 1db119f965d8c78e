"""Quality metrics and loudness shared by every capability (Griffin-Lim, Compare, Features).

Every metric compares an ``estimate`` against a ``reference``: waveforms are ``(channel, time)``,
magnitudes ``(..., freq, frames)``. Values are in dB, clipped to ``+-DB_CAP`` (a perfect match
would be infinite), so they are always finite numbers in JSON.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torchaudio.functional as F

DB_CAP = 300.0  # metrics are clipped to +-DB_CAP dB (a perfect match would be infinite)
LSD_FLOOR = 1e-10  # power floor (|STFT|^2) inside the log of the log-spectral distance
BS1770_MAX_CHANNELS = 5  # ITU-R BS.1770 weights (1, 1, 1, 1.41, 1.41) cover 5 channels
BS1770_BLOCK_S = 0.4  # gating blocks are 400 ms long: shorter audio has no loudness


def amplitude_db(ratio: float) -> float:
    """``20 log10(ratio)`` clipped to +-``DB_CAP`` (0 gives ``-DB_CAP``)."""
    return float(np.clip(20 * math.log10(ratio), -DB_CAP, DB_CAP)) if ratio > 0 else -DB_CAP


def power_db(num: torch.Tensor | float, den: torch.Tensor | float) -> float:
    """``10 log10(num / den)`` clipped to +-``DB_CAP`` (``den`` 0: ``+DB_CAP``, or 0 if ``num`` is 0 too)."""
    num, den = float(num), float(den)
    if den <= 0:
        return DB_CAP if num > 0 else 0.0
    return float(np.clip(10 * math.log10(num / den), -DB_CAP, DB_CAP)) if num > 0 else -DB_CAP


def spectral_convergence_db(reference_mag: torch.Tensor, estimate_mag: torch.Tensor) -> float:
    """``20 log10(|| |Y| - |X| ||_F / || |X| ||_F)`` over channels, frequencies and frames (dB).

    The norms accumulate in float64 without float64 copies of the spectrograms."""
    err = torch.linalg.vector_norm(estimate_mag - reference_mag, dtype=torch.float64)
    return power_db(err.square(), torch.linalg.vector_norm(reference_mag, dtype=torch.float64).square())


def snr_db(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    """``10 log10(sum x^2 / sum (x - y)^2)`` over all samples (dB); the common length is used."""
    n = min(reference.shape[-1], estimate.shape[-1])
    x, y = reference[..., :n].double(), estimate[..., :n].double()
    return power_db(x.square().sum(), (x - y).square().sum())


def si_sdr_db(reference: torch.Tensor, estimate: torch.Tensor) -> float:
    """Scale-invariant SDR (dB), mean over channels: ``a = <y,x>/<x,x>``, ``10 log10(|a x|^2 / |y - a x|^2)``."""
    n = min(reference.shape[-1], estimate.shape[-1])
    x, y = reference[..., :n].double().reshape(-1, n), estimate[..., :n].double().reshape(-1, n)
    values = []
    for xc, yc in zip(x, y, strict=True):
        scale = (yc @ xc) / (xc @ xc).clamp_min(1e-300)
        values.append(power_db((scale * xc).square().sum(), (yc - scale * xc).square().sum()))
    return float(np.mean(values))


def log_spectral_distance_db(reference_mag: torch.Tensor, estimate_mag: torch.Tensor) -> float:
    """Mean over frames (and channels) of ``sqrt(mean_f (10 log10 |X|^2 - 10 log10 |Y|^2)^2)`` (dB).

    Powers are floored at ``LSD_FLOOR``; magnitudes are ``(..., freq, frames)``.
    """
    px = reference_mag.float().square().clamp_min_(LSD_FLOOR).log10_()
    py = estimate_mag.float().square().clamp_min_(LSD_FLOOR).log10_()
    return float(px.sub_(py).mul_(10).square_().mean(dim=-2, dtype=torch.float64).sqrt_().mean())


def log_spectral_distance_from_db(difference_db: torch.Tensor) -> float:
    """:func:`log_spectral_distance_db` from a difference already in dB (``(..., freq, frames)``,
    ``10 log10`` of powers floored at ``LSD_FLOOR``): ``mean_t sqrt(mean_f d^2)``."""
    return float(difference_db.square().mean(dim=-2, dtype=torch.float64).sqrt_().mean())


# --- loudness (ITU-R BS.1770) ------------------------------------------------------------------


def kweighted_blocks(waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """``(..., block)`` mean square of the K-weighted signal in 400 ms blocks every 100 ms,
    with torchaudio's filters (the first steps of ``F.loudness``)."""
    x = F.treble_biquad(waveform, sample_rate, 4.0, 1500.0, 1 / math.sqrt(2))
    x = F.highpass_biquad(x, sample_rate, 38.0, 0.5)
    block = round(BS1770_BLOCK_S * sample_rate)
    return torch.square(x).unfold(-1, block, round(block * (1 - 0.75))).mean(dim=-1)


def gated_loudness(energy: torch.Tensor) -> torch.Tensor:
    """LKFS of ``(..., channel, block)`` block energies: ITU-R BS.1770 gating, the steps and
    order of ``F.loudness`` after its filters (so the values are the same)."""
    g = torch.tensor([1.0, 1.0, 1.0, 1.41, 1.41], dtype=energy.dtype, device=energy.device)[: energy.size(-2)]
    loudness = -0.691 + 10 * torch.log10(torch.sum(g.unsqueeze(-1) * energy, dim=-2))
    gated = (loudness > -70.0).unsqueeze(-2)
    filtered = torch.sum(gated * energy, dim=-1) / torch.count_nonzero(gated, dim=-1)
    gamma_rel = -0.691 + 10 * torch.log10(torch.sum(g * filtered, dim=-1)) - 10
    gated = torch.logical_and(gated.squeeze(-2), loudness > gamma_rel.unsqueeze(-1)).unsqueeze(-2)
    filtered = torch.sum(gated * energy, dim=-1) / torch.count_nonzero(gated, dim=-1)
    return -0.691 + 10 * torch.log10(torch.sum(g * filtered, dim=-1))


def integrated_loudness(waveform: torch.Tensor, sample_rate: int) -> float | None:
    """Programme loudness (LUFS) of ``(channel, time)`` audio, ``F.loudness(waveform, sample_rate)``;
    ``None`` where BS.1770 has no answer: more than 5 channels, under 400 ms, or silent (below the -70 LUFS gate).
    """
    if waveform.shape[0] > BS1770_MAX_CHANNELS or waveform.shape[-1] < round(BS1770_BLOCK_S * sample_rate):
        return None
    value = float(gated_loudness(kweighted_blocks(waveform, sample_rate)))
    return value if math.isfinite(value) else None
