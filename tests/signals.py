"""Synthetic test signals (float32 ``(channel, time)``) and small file writers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def sine(freq: float = 440.0, sample_rate: int = 16_000, seconds: float = 1.0, amp: float = 0.5, channels: int = 1):
    """A sinusoid, ``(channels, time)`` float32."""
    t = torch.arange(int(sample_rate * seconds), dtype=torch.float64) / sample_rate
    x = (amp * torch.sin(2 * math.pi * freq * t)).to(torch.float32)
    return x.repeat(channels, 1)


def chirp(f0: float = 100.0, f1: float = 4000.0, sample_rate: int = 16_000, seconds: float = 1.0, amp: float = 0.5):
    """A linear sweep from ``f0`` to ``f1`` Hz, ``(1, time)`` float32."""
    t = torch.arange(int(sample_rate * seconds), dtype=torch.float64) / sample_rate
    phase = 2 * math.pi * (f0 * t + (f1 - f0) * t**2 / (2 * seconds))
    return (amp * torch.sin(phase)).to(torch.float32)[None]


def white_noise(sample_rate: int = 16_000, seconds: float = 1.0, amp: float = 0.3, channels: int = 1, seed: int = 0):
    """Seeded uniform white noise in [-amp, amp], ``(channels, time)`` float32."""
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(channels, int(sample_rate * seconds), generator=g) * 2 - 1) * amp


def write(
    path: Path, waveform: torch.Tensor, sample_rate: int, subtype: str = "PCM_16", fmt: str | None = None
) -> Path:
    """Write ``(channel, time)`` audio with soundfile; returns ``path``."""
    sf.write(str(path), np.ascontiguousarray(waveform.T.numpy()), sample_rate, subtype=subtype, format=fmt)
    return path
