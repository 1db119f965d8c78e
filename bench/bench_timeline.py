"""Timeline: building a view, zoom tiles and overlays, each against torchaudio measured in the same run.

Rows: (a) ``components.timeline.show`` of one clip (peaks, dB spectrogram overview, packing) and its
JSON payload, against ``F.spectrogram`` of the whole clip (Hann, ``n_fft`` of the view, hop
``n_fft // 2``, as ``T.Spectrogram``'s default); (b) one zoom tile of 2048 columns at 1 s, 10 s and
the whole clip, against the same whole-clip spectrogram and against ``F.spectrogram`` of the tile's
span with the tile's frame count; (c) each overlay on 30 s, against the Features tab's computation
and the nearest torchaudio call (``pitch_nccf`` has none: ``F.detect_pitch_frequency`` is another
detector, listed for scale).

Ours and its references are timed in turns (ours, each reference, ours, ...), so a load that comes
and goes on a shared machine weighs on both sides of each ratio alike; medians of each.

Run alone: ``python -m bench.bench_timeline`` (writes ``bench/results/timeline-cpu.md``; the
timeline computes on the CPU), or ``python -m bench timeline`` (the app's table).
"""

from __future__ import annotations

import functools
import json
import os
import statistics
import time
from collections.abc import Callable

import torch
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.features import compute as features
from audiolab.timeline import compute as engine
from audiolab.timeline import overlays
from bench.common import RESULTS, PeakRSS, Row, machine, table
from tests import signals

CLIPS = {"30s mono 16k": (16_000, 30.0, 1), "600s stereo 44.1k": (44_100, 600.0, 2)}
TILE_COLS = 2048
FEATURE_OF = {"pitch": "pitch_nccf", "centroid": "spectral_centroid", "loudness": "loudness"}  # the Features tab's


def clip(rate: int, seconds: float, channels: int) -> torch.Tensor:
    """The benchmarks' signal (``bench.common.inputs``): a sweep over the band plus a little noise."""
    sweep = signals.chirp(80, rate / 2 - 1000, rate, seconds, amp=0.4)
    noise = signals.white_noise(rate, seconds, amp=0.05, channels=channels)
    return (sweep.repeat(channels, 1) + noise).clamp(-1, 1)


def spectrogram(x: torch.Tensor, n_fft: int, hop: int):
    """The reference: ``F.spectrogram`` as the timeline computes it (Hann, center, reflect, power 2)."""
    window = torch.hann_window(n_fft)
    return lambda: F.spectrogram(x, pad=0, window=window, n_fft=n_fft, hop_length=hop, win_length=n_fft, power=2,
                                 normalized=False, center=True, pad_mode="reflect")  # fmt: skip


def kb(value: dict) -> float:
    return len(json.dumps(value, allow_nan=False).encode()) / 1000


def timed(ours: Callable[[], object], refs: dict[str, Callable[[], object]], repeat: int) -> tuple[float, float, dict]:
    """Median seconds of ``ours`` and of each reference, run in turns ``repeat`` times after one
    warm-up each, and the peak extra MiB of one more run of ``ours``."""
    calls = {"": ours, **refs}
    for fn in calls.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    with PeakRSS() as mem:
        ours()
    medians = {name: statistics.median(t) for name, t in times.items()}
    return medians.pop(""), mem.extra_mb, medians


def view_and_tile_rows(name: str, x: torch.Tensor, rate: int, repeat: int) -> list[Row]:
    """(a) the view of the whole clip and (b) tiles of 1 s, 10 s and the whole clip."""
    from components import timeline as tl

    n_fft = engine.fft_size(rate, x.shape[-1])
    whole = {f"F.spectrogram whole clip (hop {n_fft // 2})": spectrogram(x, n_fft, n_fft // 2)}
    view = tl.show([tl.Clip(x, rate, name)])
    spec = view["tracks"][0]["spec"]
    seconds, mb, refs = timed(lambda: tl.show([tl.Clip(x, rate, name)]), whole, repeat)
    note = f"payload {kb(view):.1f} kB JSON; overview {spec['cols']} x {spec['rows']}, n_fft {n_fft}"
    rows = [Row("timeline", f"view (show of one clip), {name}", seconds, mb, refs, note)]
    duration = x.shape[-1] / rate
    for span in (1.0, 10.0, duration):
        t0 = max(0.0, duration / 2 - span / 2)
        tile = functools.partial(engine.tile, x, rate, n_fft, t0, t0 + span, TILE_COLS, spec["db_max"])
        out = tile()
        frames = out["spec"]["cols"] * out["spec"]["frames_per_col"]
        part = x[:, round(t0 * rate) : round((t0 + span) * rate)]
        hop = max(1, part.shape[-1] // frames)
        same = {f"F.spectrogram of the span, {frames} frames (hop {hop})": spectrogram(part, n_fft, hop)}
        seconds, mb, refs = timed(tile, {**whole, **same}, repeat)
        label = "whole clip" if span == duration else f"{span:g} s"
        rows.append(Row("timeline", f"tile of {TILE_COLS} columns, {label}, {name}", seconds, mb, refs,
                        f"payload {kb(out):.1f} kB JSON"))  # fmt: skip
    return rows


def torchaudio_call(key: str, x: torch.Tensor, rate: int) -> tuple[str, Callable[[], object]]:
    """The torchaudio call nearest to overlay ``key`` (default params, transform built once)."""
    if key == "centroid":
        module = T.SpectralCentroid(rate, n_fft=1024, hop_length=512)
        return "T.SpectralCentroid", lambda: module(x)
    if key == "loudness":
        return "F.loudness per channel", lambda: F.loudness(x.unsqueeze(1), rate)
    return "F.detect_pitch_frequency (another detector)", lambda: F.detect_pitch_frequency(x, rate)


def overlay_rows(name: str, x: torch.Tensor, rate: int, repeat: int) -> list[Row]:
    """(c) each overlay against the Features tab's computation and the nearest torchaudio call."""
    rows = []
    for key in overlays.KEYS:
        feature = FEATURE_OF[key]
        label, call = torchaudio_call(key, x, rate)
        refs = {f"features.compute {feature}": functools.partial(features.compute, x, rate, feature), label: call}
        seconds, mb, refs = timed(functools.partial(overlays.compute, key, x, rate), refs, repeat)
        note = f"payload {kb(overlays.compute(key, x, rate)):.1f} kB JSON"
        rows.append(Row("timeline", f"overlay {key}, {name}", seconds, mb, refs, note))
    return rows


def rows() -> list[Row]:
    out = []
    for name, (rate, seconds, channels) in CLIPS.items():
        x = clip(rate, seconds, channels)
        out += view_and_tile_rows(name, x, rate, repeat=7 if seconds <= 30 else 3)
        thirty = x[:, : round(30 * rate)]
        out += overlay_rows(
            name if seconds == 30 else f"first 30 s of {name}", thirty, rate, repeat=5 if seconds <= 30 else 3
        )
    return out


def run(client, clips) -> list[Row]:
    """For ``python -m bench timeline``: the engine rows (its own clips; the client is not used)."""
    return rows()


def main() -> None:
    measured = rows()
    text = (f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, device cpu (the timeline computes on the CPU); "
            f"load average at the end {', '.join(f'{v:.1f}' for v in os.getloadavg())}.\n\n"
            f"{table(measured)}\n")  # fmt: skip
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "timeline-cpu.md").write_text(text)


if __name__ == "__main__":
    main()
