"""What the browser's timeline draws, computed with torchaudio and packed for transfer.

A *view* is a JSON-able dict of *tracks* on one time axis. A track carries, per channel:
- ``peaks``: waveform min/max per bucket of samples, int16 (full scale = 32767);
- ``spec``: the power spectrogram in dB re full scale (a full-scale sine reads 0 dB), as uint8
  over ``[db_min, db_max]`` (``db_max`` is the loudest bin, ``db_min`` 120 dB below it), frequency
  bins max-pooled into at most ``TIMELINE_OVERVIEW_ROWS`` rows and frames max-pooled into columns;
- optional feature ``layers`` (uint8 over their own range, with unit and row labels),
  ``overlays`` (float32 series: pitch, centroid, loudness) and ``regions`` (labelled spans).

Arrays travel as base64 of zlib-deflated little-endian bytes (``pack``). Zooming asks for a
``tile``: the same quantities for a time range at the browser's pixel width, computed again
from the audio, so detail is exact at any zoom. Spectra are ``torchaudio.functional.spectrogram``'s
(``center=True``, ``pad_mode="reflect"``, Hann window), computed frame by frame at any centres.
"""

from __future__ import annotations

import base64
import functools
import math
import zlib

import numpy as np
import torch
import torchaudio.functional as F

from audiolab.core import cache, limits, render
from audiolab.core.render import pool_rows

COLORMAPS = ("viridis", "magma", "inferno", "cividis", "gray")  # spectrogram colormaps offered
DIVERGING = "RdBu_r"  # colormap of difference layers (B minus A)


# --- packing ---------------------------------------------------------------------------------------


def pack(array: np.ndarray) -> str:
    """Base64 text of the zlib-deflated little-endian bytes of ``array`` (C order)."""
    data = np.ascontiguousarray(array)
    if data.dtype.byteorder == ">":
        data = data.byteswap().view(data.dtype.newbyteorder("<"))
    return base64.b64encode(zlib.compress(data.tobytes(), 6)).decode("ascii")


def unpack(text: str, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`pack` (tests and the API's users)."""
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.dtype(dtype).newbyteorder("<")).reshape(
        shape
    )


def colormaps() -> dict[str, str]:
    """Every offered colormap as packed ``(256, 3)`` uint8 RGB tables (matplotlib's, as in the PNGs)."""
    return dict(_packed_colormaps())


@functools.lru_cache(maxsize=1)
def _packed_colormaps() -> tuple[tuple[str, str], ...]:
    return tuple((name, pack(render.colormap_table(name))) for name in (*COLORMAPS, DIVERGING))


# --- spectra ---------------------------------------------------------------------------------------


def fft_size(sample_rate: int, frames: int) -> int:
    """The view's FFT size: the power of two nearest above 40 ms (256-8192), at most the clip's length."""
    n_fft = 1 << max(8, math.ceil(math.log2(max(sample_rate * 0.04, 1))))
    n_fft = min(n_fft, 8192)
    while n_fft > 16 and n_fft // 2 >= frames:
        n_fft //= 2
    return n_fft


def _window(n_fft: int, device: torch.device | str) -> torch.Tensor:
    return cache.transform("hann_window", (n_fft,), lambda: torch.hann_window(n_fft)).to(device)


def reflect_index(index: torch.Tensor, length: int) -> torch.Tensor:
    """Indices outside ``[0, length)`` reflected as ``torch.stft``'s ``pad_mode="reflect"`` does."""
    period = max(2 * (length - 1), 1)
    index = torch.remainder(index, period)
    return torch.where(index >= length, period - index, index)


def frames_at(x: torch.Tensor, centers: torch.Tensor, n_fft: int) -> torch.Tensor:
    """``(len(centers), n_fft)``: the frames of 1-D ``x`` centred at ``centers`` (samples). Frames
    inside ``x`` are rows of a strided view (copied, no per-sample index arithmetic: ~40x faster
    than gathering by reflected indices); only frames reaching past an end are gathered reflected."""
    starts = centers.to(x.device) - n_fft // 2
    length = x.shape[-1]
    inside = (starts >= 0) & (starts <= length - n_fft)
    if bool(inside.all()):
        return x.unfold(0, n_fft, 1)[starts]
    out = torch.empty(starts.numel(), n_fft, dtype=x.dtype, device=x.device)
    if bool(inside.any()):
        out[inside] = x.unfold(0, n_fft, 1)[starts[inside]]
    edge = ~inside
    out[edge] = x[reflect_index(starts[edge, None] + torch.arange(n_fft, device=x.device), length)]
    return out


def spectrum_db(x: torch.Tensor, centers: torch.Tensor, n_fft: int) -> torch.Tensor:
    """Power in dB re full scale of the Hann-windowed frames of 1-D ``x`` centred at ``centers``
    (samples), ``(n_fft // 2 + 1, len(centers))``; frames reaching past the ends are reflected.

    Equals ``F.spectrogram(x, pad=0, window=hann, n_fft, hop, n_fft, power=2, normalized=False)``
    at centres ``k * hop`` (then ``10 log10``, scaled so a full-scale sine's peak is 0 dB); frames
    are gathered ``TIMELINE_FRAME_BLOCK`` samples at a time, so memory stays bounded. It is
    :func:`column_max_db` with one frame per column.
    """
    block = max(1, limits.TIMELINE_FRAME_BLOCK // n_fft)
    out = [column_max_db(x, centers[start : start + block], n_fft, 1) for start in range(0, centers.numel(), block)]
    return torch.cat(out, dim=-1) if out else torch.empty(n_fft // 2 + 1, 0)


def column_max_db(x: torch.Tensor, centers: torch.Tensor, n_fft: int, per_col: int) -> torch.Tensor:
    """:func:`spectrum_db` of the frames centred at ``centers`` (a multiple of ``per_col`` of them),
    each run of ``per_col`` frames max-pooled into one column: ``(n_fft // 2 + 1, columns)``. The
    maximum is taken over the power, before the dB conversion (the same values: the conversion is
    monotonic), so only the pooled columns are converted."""
    window = _window(n_fft, x.device)
    scale = (2.0 / float(window.sum())) ** 2
    power = torch.fft.rfft(frames_at(x, centers, n_fft) * window, dim=-1).abs().square_()
    pooled = power.view(-1, per_col, power.shape[-1]).amax(dim=1).mul_(scale)
    return F.amplitude_to_DB(pooled.T, multiplier=10.0, amin=1e-12, db_multiplier=0.0)


def spectrogram_columns(
    waveform: torch.Tensor, n_fft: int, start: float, stop: float, cols: int, rows: int
) -> tuple[np.ndarray, int]:
    """dB spectrogram of samples ``[start, stop)`` as ``(channel, rows, cols)`` float32.

    Column ``k`` is the maximum over frames centred evenly across its span (at least one frame
    per half window, so nothing between frames is missed), then bins max-pooled into ``rows``.
    Also returns the frames per column. Frames are pooled a block of whole columns at a time,
    so only the pooled spectrogram is ever held (not every frame's bins).
    """
    span = max(stop - start, 1e-9)
    per_col = max(1, math.ceil(span / cols / (n_fft / 2)))
    step = span / (cols * per_col)
    centers = torch.floor(start + (torch.arange(cols * per_col, dtype=torch.float64) + 0.5) * step).long()
    chunk = max(1, limits.TIMELINE_FRAME_BLOCK // n_fft // per_col) * per_col  # frames per pass: whole columns
    out = []
    with torch.no_grad():
        for channel in waveform:
            parts = [pool_rows(column_max_db(channel, centers[i : i + chunk], n_fft, per_col).cpu().numpy(), rows)
                     for i in range(0, centers.numel(), chunk)]  # fmt: skip
            out.append(np.concatenate(parts, axis=-1))
    return np.stack(out).astype(np.float32), per_col


def quantise(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``values`` mapped to uint8 0-255 over ``[lo, hi]`` (clipped; NaN to 0)."""
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    q = np.nan_to_num((values - lo) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return np.clip(np.rint(q), 0, 255).astype(np.uint8)


def dequantise(q: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """The values uint8 ``q`` stand for (within half a step, ``(hi - lo) / 510``)."""
    return lo + q.astype(np.float64) * (hi - lo) / 255.0


# --- waveform peaks --------------------------------------------------------------------------------


def peaks(waveform: torch.Tensor, start: float, stop: float, cols: int) -> np.ndarray:
    """Min and max of each of ``cols`` even spans of samples ``[start, stop)``, ``(channel, cols, 2)``
    int16 (full scale 32767). A span shorter than a sample shows the sample it starts in. Values
    are clipped to full scale after the min/max (the same result, without a copy of the audio)."""
    first, last = max(0, math.floor(start)), min(waveform.shape[-1], math.ceil(stop))
    if last <= first:
        return np.zeros((waveform.shape[0], cols, 2), np.int16)
    x = waveform[:, first:last].cpu().numpy()
    starts = np.minimum(np.floor(np.linspace(0, x.shape[-1], cols + 1)[:-1]).astype(np.int64), x.shape[-1] - 1)
    pairs = np.stack([np.minimum.reduceat(x, starts, axis=-1), np.maximum.reduceat(x, starts, axis=-1)], axis=-1)
    return np.rint(np.clip(pairs, -1.0, 1.0) * 32767).astype(np.int16)


# --- tracks, layers, overlays, regions ------------------------------------------------------------


def overview_cols(seconds: float) -> int:
    """Spectrogram columns of a track's overview: 16 per second within ``TIMELINE_OVERVIEW_COLS``."""
    lo, hi = limits.TIMELINE_OVERVIEW_COLS
    return int(min(hi, max(lo, round(seconds * 16))))


def spectrogram_block(
    waveform: torch.Tensor,
    sample_rate: int,
    n_fft: int,
    start: float,
    stop: float,
    cols: int,
    rows: int,
    db_max: float | None = None,
) -> dict:
    """The packed spectrogram of samples ``[start, stop)``: ``cols`` columns from ``start / rate`` s
    (``dt`` s each), ``rows`` rows of ``hz_per_row`` Hz, uint8 over ``[db_min, db_max]``."""  # fmt: skip
    db, per_col = spectrogram_columns(waveform, n_fft, start, stop, cols, rows)
    top = float(np.nanmax(db)) if db_max is None and db.size else (db_max if db_max is not None else 0.0)
    top = max(top, -100.0)  # digital silence: keep a sensible scale
    floor = top - limits.TIMELINE_DB_RANGE
    return {
        "t0": start / sample_rate,
        "dt": (stop - start) / cols / sample_rate,
        "cols": cols,
        "rows": db.shape[-2],
        "bins": n_fft // 2 + 1,
        "hz_per_row": sample_rate / 2 / db.shape[-2] if db.shape[-2] < n_fft // 2 + 1 else sample_rate / n_fft,
        "pooled_rows": db.shape[-2] < n_fft // 2 + 1,
        "frames_per_col": per_col,
        "db_min": floor,
        "db_max": top,
        "data": [pack(quantise(ch, floor, top)) for ch in db],
    }


def peaks_block(waveform: torch.Tensor, sample_rate: int, start: float, stop: float, cols: int) -> dict:
    """The packed waveform peaks of samples ``[start, stop)`` in ``cols`` spans."""
    pairs = peaks(waveform, start, stop, cols)
    return {"t0": start / sample_rate, "dt": (stop - start) / cols / sample_rate, "cols": cols,
            "data": [pack(ch) for ch in pairs]}  # fmt: skip


def track(
    waveform: torch.Tensor,
    sample_rate: int,
    *,
    name: str,
    audio: str | None = None,
    layers: list[dict] | None = None,
    overlays: list[dict] | None = None,
    regions: list[dict] | None = None,
    offset_s: float = 0.0,
    stretch: float = 1.0,
) -> dict:
    """One track of a view: ``waveform`` ``(channel, time)`` at ``sample_rate`` Hz, played from the
    file ``audio`` (a path the server serves), with its peaks and spectrogram overview. ``stretch``
    scales its time axis (content alignment in comparisons)."""
    frames = waveform.shape[-1]
    n_fft = fft_size(sample_rate, frames)
    seconds = frames / sample_rate
    buckets = min(limits.TIMELINE_PEAK_BUCKETS, max(frames, 1))
    return {
        "name": name,
        "audio": audio,
        "sample_rate": sample_rate,
        "frames": frames,
        "duration": seconds,
        "channels": waveform.shape[0],
        "n_fft": n_fft,
        "offset": offset_s,
        "stretch": stretch,
        "peaks": peaks_block(waveform, sample_rate, 0, frames, buckets),
        "spec": spectrogram_block(
            waveform, sample_rate, n_fft, 0, frames, overview_cols(seconds), limits.TIMELINE_OVERVIEW_ROWS
        ),
        "layers": layers or [],
        "overlays": overlays or [],
        "regions": regions or [],
    }


def layer(
    values: np.ndarray | torch.Tensor,
    *,
    name: str,
    t0: float,
    dt: float,
    unit: str,
    row_name: str,
    row_labels: list[str] | None = None,
    row_hz: list[float] | None = None,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> dict:
    """A heatmap layer ``(channel, rows, cols)`` (feature values in ``unit``), column ``k`` centred
    at ``t0 + k dt`` s, drawn under the same time axis; packed as uint8 over ``[vmin, vmax]``.
    ``row_labels`` name rows (tokens), ``row_hz`` gives each row's centre frequency (mel bins)."""
    data = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    data = data.astype(np.float32)
    if data.ndim == 2:
        data = data[None]
    finite = data[np.isfinite(data)]
    lo = float(finite.min()) if vmin is None and finite.size else float(vmin or 0.0)
    hi = float(finite.max()) if vmax is None and finite.size else float(vmax if vmax is not None else lo + 1.0)
    if not hi > lo:
        hi = lo + 1.0
    return {
        "kind": "heatmap", "name": name, "unit": unit, "row_name": row_name, "t0": t0, "dt": dt,
        "rows": data.shape[-2], "cols": data.shape[-1], "vmin": lo, "vmax": hi, "cmap": cmap,
        "row_labels": row_labels, "row_hz": row_hz, "data": [pack(quantise(ch, lo, hi)) for ch in data],
    }  # fmt: skip


def overlay(
    values: np.ndarray | torch.Tensor, *, key: str, name: str, unit: str, t0: float, dt: float, axis: str = "freq"
) -> dict:
    """A line over time, ``(channel, frames)`` float32 (NaN = no value, e.g. unvoiced), point ``k`` at
    ``t0 + k dt`` s; ``axis="freq"`` draws it on the spectrogram's frequency axis (Hz), ``"own"`` on
    its own scale (e.g. LUFS)."""
    data = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    data = np.atleast_2d(data.astype(np.float32))
    finite = data[np.isfinite(data)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return {"key": key, "name": name, "unit": unit, "axis": axis, "t0": t0, "dt": dt, "frames": data.shape[-1],
            "min": lo, "max": hi, "data": [pack(ch) for ch in data]}  # fmt: skip


def regions(spans: list[tuple[float, float, str, float]], tier: str) -> list[dict]:
    """Labelled spans ``(start s, end s, label, score)`` of one tier (``"word"`` or ``"char"``)."""
    return [{"start": float(a), "end": float(b), "label": str(text), "score": float(score), "tier": tier}
            for a, b, text, score in spans]  # fmt: skip


def view(tracks: list[dict], *, view_id: str, strings: dict[str, list[str]], extra: dict | None = None) -> dict:
    """The whole view: its tracks on one time axis, the colormaps, and the UI strings (en, zh)."""
    duration = max((t["offset"] + t["duration"] * t["stretch"] for t in tracks), default=0.0)
    return {"version": 1, "id": view_id, "duration": duration, "tracks": tracks, "colormaps": colormaps(),
            "strings": strings, **(extra or {})}  # fmt: skip


# --- zoom tiles ------------------------------------------------------------------------------------


def tile(waveform: torch.Tensor, sample_rate: int, n_fft: int, t0: float, t1: float, cols: int, db_max: float) -> dict:
    """Spectrogram and peaks of ``[t0, t1)`` s at ``cols`` columns (the browser's pixel width), on the
    track's dB scale (``db_max``), so a zoomed view shows every frame's detail."""
    lo, hi = limits.TIMELINE_TILE_COLS
    cols = int(min(hi, max(lo, cols)))
    frames = waveform.shape[-1]
    start = min(max(0.0, t0 * sample_rate), frames - 1.0)
    stop = min(max(start + 1.0, t1 * sample_rate), float(frames))
    return {
        "spec": spectrogram_block(waveform, sample_rate, n_fft, start, stop, cols, limits.TIMELINE_TILE_ROWS, db_max),
        "peaks": peaks_block(waveform, sample_rate, start, stop, cols),
    }
