"""Timing, memory sampling and the result table shared by every benchmark."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tests import signals
from tests.fixtures import memory

RESULTS = Path(__file__).resolve().parent / "results"


class PeakRSS(memory.Peak):
    """Context manager: ``.extra_mb`` is the peak resident memory above the start (MiB), from the
    kernel's high-water mark (``tests.fixtures.memory``), so no short spike is missed."""

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.extra_mb = self.megabytes


@dataclass
class Row:
    """One measured operation and its references."""

    group: str
    name: str
    seconds: float
    peak_mb: float
    refs: dict[str, float] = field(default_factory=dict)
    note: str = ""


def measure(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> tuple[float, float]:
    """Median wall time (s) of ``fn`` over ``repeat`` runs after ``warmup``, and peak extra MiB."""
    for _ in range(warmup):
        fn()
    times = []
    with PeakRSS() as mem:
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return statistics.median(times), mem.extra_mb


def machine() -> str:
    """One line describing where the numbers came from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}, Python {platform.python_version()}"


def inputs(tmp: Path) -> dict[str, tuple[Path, torch.Tensor, int]]:
    """The benchmark clips as files: 30 s mono 16 kHz, 30 s stereo 44.1 kHz, 10 min mono 16 kHz."""
    out = {}
    specs = {
        "30s mono 16k": (16_000, 30.0, 1),
        "30s stereo 44.1k": (44_100, 30.0, 2),
        "10min mono 16k": (16_000, 600.0, 1),
    }
    for name, (rate, seconds, channels) in specs.items():
        sweep = signals.chirp(80, rate / 2 - 1000, rate, seconds, amp=0.4)
        noise = signals.white_noise(rate, seconds, amp=0.05, channels=channels)
        x = (sweep.repeat(channels, 1) + noise).clamp(-1, 1)
        path = signals.write(tmp / f"{name.replace(' ', '_')}.wav", x, rate)
        out[name] = (path, x, rate)
    return out


def table(rows: list[Row]) -> str:
    """Markdown table: median ms, peak MiB, and each reference with its ratio."""
    lines = [
        "| group | operation | median ms | peak +MiB | references (ms, ratio ours/ref) |",
        "|---|---|---:|---:|---|",
    ]
    for r in rows:
        refs = "; ".join(f"{k}: {v * 1000:.1f} ms ({r.seconds / v:.2f}x)" for k, v in r.refs.items() if v > 0)
        refs = refs + (f" — {r.note}" if r.note else "")
        lines.append(f"| {r.group} | {r.name} | {r.seconds * 1000:.1f} | {r.peak_mb:.0f} | {refs} |")
    return "\n".join(lines)
