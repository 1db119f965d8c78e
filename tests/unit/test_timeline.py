"""The timeline engine (``audiolab.timeline``) and its server functions, against references:
``torchaudio`` called directly, formulas, known signals; references are computed here,
independently of the engine (own centres, own pooling loops, own K-weighting)."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from audiolab.features import compute as features
from audiolab.timeline import compute as engine
from audiolab.timeline import overlays
from audiolab.timeline.store import Source, ViewStore
from components import timeline as tl
from tests import signals
from tests.fixtures import memory

CJK = re.compile(r"[\u4e00-\u9fff]")


# --- references ------------------------------------------------------------------------------------


def reference_db(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """``F.spectrogram`` (Hann, center=True, reflect) of 1-D ``x`` in dB re full scale: ``10 log10`` of
    the power scaled by ``(2 / sum(window))**2`` (a full-scale sine's peak: 0 dB), floor 1e-12."""
    window = torch.hann_window(n_fft)
    power = F.spectrogram(x, pad=0, window=window, n_fft=n_fft, hop_length=hop, win_length=n_fft, power=2,
                          normalized=False, center=True, pad_mode="reflect")  # fmt: skip
    return 10 * torch.log10((power * (2 / window.sum()) ** 2).clamp_min(1e-12))


def reference_block(x: torch.Tensor, n_fft: int, start: float, stop: float, cols: int, per_col: int, rows: int):
    """The documented block, computed by hand: frames at ``floor(start + (j + 0.5) step)`` (from a
    hop-1 ``F.spectrogram``: frame ``k`` is centred at sample ``k``), the max over each column's
    ``per_col`` frames, then the max over rows ``floor(i n / rows) .. floor((i + 1) n / rows) - 1``."""
    every = reference_db(x, n_fft, 1).numpy()  # (bins, samples + 1)
    step = (stop - start) / (cols * per_col)
    centres = [math.floor(start + (j + 0.5) * step) for j in range(cols * per_col)]
    frames = every[:, centres]
    columns = np.stack([frames[:, k * per_col : (k + 1) * per_col].max(axis=1) for k in range(cols)], axis=1)
    n = columns.shape[0]
    if n <= rows:
        return columns
    return np.stack([columns[i * n // rows : (i + 1) * n // rows].max(axis=0) for i in range(rows)])


def row_of_bin(b: int, n: int, rows: int) -> int:
    """The pooled row that holds bin ``b`` of ``n`` under the rule ``floor(i n / rows)``."""
    return b if n <= rows else math.ceil((b + 1) * rows / n) - 1


def row_centre_hz(i: int, n: int, rows: int, hz_per_bin: float) -> float:
    """Mean frequency of the bins pooled into row ``i``."""
    if n <= rows:
        return i * hz_per_bin
    lo, hi = i * n // rows, (i + 1) * n // rows
    return (lo + hi - 1) / 2 * hz_per_bin


def dequantised(block: dict, channel: int = 0) -> np.ndarray:
    q = engine.unpack(block["data"][channel], "uint8", (block["rows"], block["cols"]))
    return engine.dequantise(q, block["db_min"], block["db_max"])


def sweep_clip(rate: int, seconds: float, channels: int) -> torch.Tensor:
    """A sweep over the band plus a little noise (as the benchmarks use)."""
    sweep = signals.chirp(80, rate / 2 - 1000, rate, seconds, amp=0.4)
    return (sweep.repeat(channels, 1) + signals.white_noise(rate, seconds, amp=0.05, channels=channels)).clamp(-1, 1)


# --- spectra ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_fft", "hop", "length"), [(512, 128, 8000), (256, 100, 5001), (1024, 256, 4096)])
def test_spectrum_db_equals_torchaudio_spectrogram_at_hop_centres(n_fft, hop, length):
    x = signals.chirp(100, 3000, 8000, length / 8000)[0] + signals.white_noise(8000, length / 8000, amp=0.1)[0]
    x = x[:length]
    reference = reference_db(x, n_fft, hop)
    ours = engine.spectrum_db(x, torch.arange(reference.shape[-1]) * hop, n_fft)
    assert ours.shape == reference.shape
    assert_db_close(ours, reference)


def assert_db_close(ours: torch.Tensor, reference: torch.Tensor) -> None:
    """Within 0.002 dB wherever the reference is within 90 dB of its loudest bin; below that, float32
    rounding of the loudest bins' sums may dominate: compared as power, to 1e-7 of the loudest bin's."""
    loud = reference > reference.max() - 90
    torch.testing.assert_close(ours[loud], reference[loud], atol=2e-3, rtol=0)
    top = 10 ** (float(reference.max()) / 10)
    torch.testing.assert_close(10 ** (ours.double() / 10), 10 ** (reference.double() / 10), atol=1e-7 * top, rtol=1e-3)


def test_spectrum_db_reflects_frames_past_both_ends_as_torch_stft():
    x = torch.randn(3000, generator=torch.Generator().manual_seed(1)) * 0.3
    centres = torch.tensor([0, 1, 5, 255, 256, 1500, 2743, 2744, 2990, 2999])  # n_fft 512: half 256
    reference = reference_db(x, 512, 1)[:, centres]
    assert_db_close(engine.spectrum_db(x, centres, 512), reference)


def test_spectrum_db_full_scale_sine_at_a_bin_centre_reads_0_db_and_minus_20_dbfs_reads_minus_20():
    rate, n_fft = 16_000, 512
    freq = 40 * rate / n_fft  # bin 40
    centres = torch.arange(1000, 15_000, 777)
    for amp, level in ((1.0, 0.0), (10 ** (-20 / 20), -20.0)):
        db = engine.spectrum_db(signals.sine(freq, rate, 1.0, amp=amp)[0], centres, n_fft)
        assert (db.argmax(0) == 40).all()
        torch.testing.assert_close(db.max(0).values, torch.full((len(centres),), level), atol=0.01, rtol=0)


def test_frames_at_equals_the_reflected_gather():
    x = torch.randn(1000, generator=torch.Generator().manual_seed(2))
    centres = torch.tensor([0, 3, 100, 500, 871, 872, 999])
    index = engine.reflect_index(centres[:, None] + torch.arange(256) - 128, x.shape[-1])
    assert torch.equal(engine.frames_at(x, centres, 256), x[index])
    assert torch.equal(engine.frames_at(x, centres[2:5], 256), x[index[2:5]])  # all inside: the strided path


@pytest.mark.parametrize(
    ("start", "stop", "cols", "rows"),
    [(0, 4000, 5, 100), (0, 4000, 37, 257), (123.4, 3210.7, 16, 300), (2000.5, 2100.25, 40, 64)],
)
def test_spectrogram_block_equals_the_max_pooled_reference_within_half_a_step(start, stop, cols, rows):
    rate = 8000
    x = sweep_clip(rate, 0.5, 2)
    n_fft = engine.fft_size(rate, x.shape[-1])
    block = engine.spectrogram_block(x, rate, n_fft, start, stop, cols, rows)
    per_col = block["frames_per_col"]
    assert per_col >= (stop - start) / cols / (n_fft / 2)  # at least one frame per half window
    assert block["cols"] == cols and block["rows"] == min(rows, n_fft // 2 + 1) and block["bins"] == n_fft // 2 + 1
    assert block["t0"] == pytest.approx(start / rate) and block["dt"] == pytest.approx((stop - start) / cols / rate)
    half_step = (block["db_max"] - block["db_min"]) / 510
    assert block["db_min"] == pytest.approx(block["db_max"] - limits.TIMELINE_DB_RANGE)
    tops = []
    for channel in range(2):
        reference = reference_block(x[channel], n_fft, start, stop, cols, per_col, rows)
        expected = np.clip(reference, block["db_min"], block["db_max"])
        np.testing.assert_allclose(dequantised(block, channel), expected, atol=half_step + 2e-3, rtol=0)
        tops.append(reference.max())
    assert block["db_max"] == pytest.approx(max(tops), abs=2e-3)  # the loudest bin of the block


def test_tile_at_44k1_pools_rows_and_equals_the_reference():
    rate = 44_100
    x = sweep_clip(rate, 0.25, 1)
    n_fft = engine.fft_size(rate, x.shape[-1])
    assert n_fft == 2048
    out = engine.tile(x, rate, n_fft, 0.05, 0.2, 333, db_max=-3.0)
    spec = out["spec"]
    assert spec["rows"] == limits.TIMELINE_TILE_ROWS < spec["bins"] and spec["pooled_rows"]
    assert spec["db_max"] == -3.0 and spec["cols"] == 333
    reference = reference_block(x[0], n_fft, 0.05 * rate, 0.2 * rate, 333, spec["frames_per_col"], spec["rows"])
    half_step = limits.TIMELINE_DB_RANGE / 510
    np.testing.assert_allclose(dequantised(spec), np.clip(reference, -123.0, -3.0), atol=half_step + 2e-3, rtol=0)


@pytest.mark.parametrize(("n", "rows"), [(1025, 512), (1025, 256), (513, 512), (257, 100), (129, 256)])
def test_row_of_a_bin_is_where_pool_rows_puts_it(n, rows):
    """The inverse of the pooling rule, ``ceil((b + 1) rows / n) - 1``: where a reader of a pooled
    spectrogram must look for bin ``b`` (``floor(b rows / n)`` is one row low for some bins)."""
    for b in range(n):
        one_hot = np.zeros((n, 1))
        one_hot[b] = 1.0
        assert engine.pool_rows(one_hot, rows)[:, 0].argmax() == row_of_bin(b, n, rows)


@pytest.mark.parametrize(("rate", "bin_"), [(16_000, 128), (44_100, 93)])
def test_tile_at_high_zoom_shows_a_2_khz_tone_at_its_row_and_level(rate, bin_):
    n_fft = engine.fft_size(rate, rate)
    freq = bin_ * rate / n_fft  # 2000 Hz (16 kHz), 2002.6 Hz (44.1 kHz): a bin centre
    x = signals.sine(freq, rate, 1.0, amp=0.1) + signals.sine(500.0, rate, 1.0, amp=0.5)
    overview = engine.track(x, rate, name="tone")
    spec = engine.tile(x, rate, n_fft, 0.40, 0.45, 2048, overview["spec"]["db_max"])["spec"]
    assert spec["cols"] == 2048 and spec["frames_per_col"] == 1
    n, rows = spec["bins"], spec["rows"]
    row = row_of_bin(bin_, n, rows)
    hz_per_bin = rate / n_fft
    assert abs(row_centre_hz(row, n, rows, hz_per_bin) - 2000) <= (n / rows) * hz_per_bin
    values = dequantised(spec)
    half_step = (spec["db_max"] - spec["db_min"]) / 510
    band = slice(row_of_bin(bin_ - 3, n, rows), row_of_bin(bin_ + 3, n, rows) + 1)  # around the tone
    assert (values[band].argmax(0) + band.start == row).all()
    np.testing.assert_allclose(values[row], -20.0, atol=half_step + 0.02)


# --- peaks -----------------------------------------------------------------------------------------


def reference_peaks(x: np.ndarray, cols: int) -> np.ndarray:
    out = np.zeros((x.shape[0], cols, 2))
    n = x.shape[-1]
    for k in range(cols):
        lo = min(math.floor(k * n / cols), n - 1)
        hi = max(lo + 1, math.floor((k + 1) * n / cols))
        out[:, k] = np.stack([x[:, lo:hi].min(-1), x[:, lo:hi].max(-1)], -1)
    return np.rint(np.clip(out, -1, 1) * 32767)


def test_peaks_are_min_and_max_per_span_in_int16_full_scale():
    x = torch.randn(2, 10_007, generator=torch.Generator().manual_seed(3)) * 0.6  # some past full scale
    ours = engine.peaks(x, 0, x.shape[-1], 100)
    assert ours.dtype == np.int16 and ours.shape == (2, 100, 2)
    np.testing.assert_allclose(ours, reference_peaks(x.numpy(), 100), atol=1)
    assert ours.max() == 32767 and ours.min() == -32767  # clipped at full scale
    np.testing.assert_array_equal(engine.peaks(x, 500, 1500, 40), engine.peaks(x[:, 500:1500], 0, 1000, 40))


def test_peaks_of_a_clip_shorter_than_the_columns_show_each_sample():
    x = torch.linspace(-1, 1, 10)[None]
    ours = engine.peaks(x, 0, 10, 25)
    starts = [math.floor(k * 10 / 25) for k in range(25)]
    expected = np.rint(x[0, starts].numpy() * 32767)
    np.testing.assert_array_equal(ours[0, :, 0], expected)
    np.testing.assert_array_equal(ours[0, :, 1], expected)


def test_peaks_block_of_a_track_covers_the_clip():
    x = sweep_clip(8000, 1.0, 1)
    block = engine.track(x, 8000, name="a")["peaks"]
    assert block["cols"] == min(limits.TIMELINE_PEAK_BUCKETS, 8000)
    assert block["dt"] * block["cols"] == pytest.approx(1.0)
    pairs = engine.unpack(block["data"][0], "int16", (block["cols"], 2))
    np.testing.assert_allclose(pairs, reference_peaks(x.numpy(), block["cols"])[0], atol=1)


# --- packing and payload ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "int16", "float32"])
def test_pack_round_trips(dtype):
    rng = np.random.default_rng(4)
    values = (rng.standard_normal((3, 50)) * 100).astype(dtype)
    if dtype == "float32":
        values[0, :3] = [np.nan, np.inf, -np.inf]
    text = engine.pack(values)
    assert text.isascii()
    np.testing.assert_array_equal(engine.unpack(text, dtype, values.shape), values)


def test_pack_writes_little_endian_from_big_endian_input():
    values = np.arange(-5, 5, dtype=">i2")
    np.testing.assert_array_equal(engine.unpack(engine.pack(values), "int16", (10,)), np.arange(-5, 5))


@pytest.fixture
def store(monkeypatch):
    """A fresh view store for ``components.timeline`` (the app's store is left alone)."""
    fresh = ViewStore()
    monkeypatch.setattr(tl, "STORE", fresh)
    return fresh


@pytest.mark.parametrize(("rate", "seconds", "channels", "budget_kb"), [(16_000, 30, 1, 300), (44_100, 600, 2, 2000)])
def test_view_payload_fits_the_budget(store, rate, seconds, channels, budget_kb):
    view = tl.show([tl.Clip(sweep_clip(rate, seconds, channels), rate, "clip")])
    text = json.dumps(view, allow_nan=False)  # strict JSON: no NaN reaches the browser
    assert len(text.encode()) <= budget_kb * 1000
    spec = view["tracks"][0]["spec"]
    assert spec["rows"] == limits.TIMELINE_OVERVIEW_ROWS and spec["cols"] == engine.overview_cols(seconds)


# --- overlays --------------------------------------------------------------------------------------


def series(overlay: dict, channel: int = 0) -> np.ndarray:
    return engine.unpack(overlay["data"][channel], "float32", (overlay["frames"],))


def test_pitch_overlay_reads_220_hz_within_1_percent_and_nan_where_silent():
    rate = 16_000
    x = torch.cat([signals.sine(220, rate, 1.0, amp=0.5), torch.zeros(1, rate)], -1)
    out = overlays.pitch(x, rate)
    assert (out["key"], out["unit"], out["t0"], out["dt"]) == ("pitch", "Hz", 0.0, 0.01)
    f0 = series(out)
    times = out["t0"] + out["dt"] * np.arange(len(f0))
    voiced, silent = f0[(times > 0.05) & (times < 0.95)], f0[times > 1.05]
    np.testing.assert_allclose(voiced, 220.0, rtol=0.01)
    assert np.isnan(silent).all() and silent.size > 80
    features_f0 = features.compute(x, rate, "pitch_nccf").tensor[0, :, 1].numpy()
    np.testing.assert_array_equal(f0, features_f0)  # the Features tab's value


def test_centroid_overlay_equals_torchaudio_spectral_centroid():
    rate = 16_000
    x = sweep_clip(rate, 2.0, 2)
    out = overlays.centroid(x, rate)
    reference = T.SpectralCentroid(rate, n_fft=1024, hop_length=512)(x)
    assert out["dt"] == pytest.approx(512 / rate) and out["frames"] == reference.shape[-1]
    for channel in range(2):
        np.testing.assert_allclose(series(out, channel), reference[channel].numpy(), rtol=1e-5, atol=1e-3)


def test_centroid_overlay_of_a_bin_centre_tone_is_its_frequency():
    rate = 16_000
    values = series(overlays.centroid(signals.sine(1000.0, rate, 1.0), rate))  # bin 64 of 1024
    np.testing.assert_allclose(values[2:-2], 1000.0, atol=0.5)


def test_loudness_overlay_is_the_momentary_loudness_of_bs1770():
    rate = 48_000
    x = sweep_clip(rate, 3.0, 1) * 0.5
    out = overlays.loudness(x, rate)
    assert (out["unit"], out["axis"], out["t0"], out["dt"]) == ("LUFS", "own", 0.2, 0.1)
    ours = series(out)
    np.testing.assert_array_equal(ours, features.compute(x, rate, "loudness").extra["momentary"][0].numpy())
    weighted = F.highpass_biquad(F.treble_biquad(x.double(), rate, 4.0, 1500.0, 1 / math.sqrt(2)), rate, 38.0, 0.5)
    energy = weighted.square().unfold(-1, round(0.4 * rate), round(0.1 * rate)).mean(-1)
    np.testing.assert_allclose(ours, (-0.691 + 10 * torch.log10(energy))[0].numpy(), atol=1e-3)


def test_loudness_overlay_of_a_steady_sine_is_its_integrated_loudness():
    rate = 48_000
    x = signals.sine(997.0, rate, 3.0, amp=1.0)
    np.testing.assert_allclose(series(overlays.loudness(x, rate)), float(F.loudness(x, rate)), atol=0.01)


# --- the view store --------------------------------------------------------------------------------


def source(samples: int = 1000) -> Source:
    return Source(torch.zeros(1, samples), 16_000, 512, 0.0)


def assert_expired(store: ViewStore, view_id: object) -> None:
    with pytest.raises(AudioLabError) as err:
        store.get(view_id)
    assert "expired" in str(err.value) and CJK.search(err.value.zh)


def test_store_evicts_the_least_recently_used_view_by_count():
    store = ViewStore(max_bytes=10**9, max_views=2)
    a, b = store.put([source()]), store.put([source()])
    store.get(a)  # a is now the most recent
    c = store.put([source()])
    assert len(store) == 2 and store.get(a) and store.get(c)
    assert_expired(store, b)


def test_store_evicts_the_least_recently_used_view_by_bytes():
    store = ViewStore(max_bytes=10_000, max_views=100)  # two sources of 4000 bytes fit, three do not
    a, b = store.put([source()]), store.put([source()])
    store.get(a)
    c = store.put([source()])
    assert store.nbytes <= 10_000 and store.get(a) and store.get(c)
    assert_expired(store, b)
    big = store.put([source(10_000)])  # larger than the bound alone: kept, every other view evicted
    assert len(store) == 1 and store.get(big)


def test_store_refuses_unknown_ids_with_a_chinese_message_too():
    store = ViewStore()
    store.put([source()])
    for bad in ("0" * 24, "", None, 12, ["x"], {"id": 1}):
        assert_expired(store, bad)


def test_store_ids_are_24_random_hex_digits():
    store = ViewStore(max_views=500)
    ids = [store.put([source(1)]) for _ in range(300)]
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids) and len(set(ids)) == 300


# --- server functions ------------------------------------------------------------------------------


@pytest.fixture
def view(store):
    """A view of two tracks (1 s mono 16 kHz, 0.5 s stereo 8 kHz) in a fresh store."""
    return tl.show([tl.Clip(sweep_clip(16_000, 1.0, 1), 16_000, "a"), tl.Clip(sweep_clip(8000, 0.5, 2), 8000, "b")])


def test_timeline_tile_answers_a_good_request_with_the_engine_tile(view):
    out = tl.timeline_tile({"id": view["id"], "track": 1, "t0": 0.1, "t1": 0.3, "cols": 300})
    src = tl.STORE.get(view["id"])[1]
    assert out == engine.tile(src.waveform, 8000, src.n_fft, 0.1, 0.3, 300, view["tracks"][1]["spec"]["db_max"])
    assert out["spec"]["cols"] == out["peaks"]["cols"] == 300 and out["spec"]["t0"] == pytest.approx(0.1)


def test_timeline_overlay_answers_each_key_and_keeps_it(view):
    for key in overlays.KEYS:
        out = tl.timeline_overlay({"id": view["id"], "track": 0, "key": key})
        assert out["key"] == key and "error" not in out
        assert tl.timeline_overlay({"id": view["id"], "track": 0, "key": key}) is out  # computed once


def assert_error(out: object) -> None:
    assert isinstance(out, dict) and set(out) == {"error"}
    en, zh = out["error"]
    assert isinstance(en, str) and en and CJK.search(zh)


NOT_REQUESTS = [None, [], "tile", 3, {}, {"track": 0, "t0": 0, "t1": 1, "cols": 100}]
HOSTILE_FIELDS = [
    {"t0": float("nan")}, {"t0": float("inf")}, {"t1": -float("inf")}, {"t0": 1e300}, {"t1": -1e300},
    {"t0": "0"}, {"t1": None}, {"cols": "100"}, {"cols": 10**12}, {"cols": [100]}, {"cols": float("nan")},
    {"track": 2}, {"track": -1}, {"track": "0"}, {"track": 0.0}, {"track": None},
    {"id": "0" * 24}, {"id": None}, {"id": ["x"]}, {"id": {"a": 1}},
    {"track": True}, {"t0": True}, {"cols": False},  # JSON true/false are not numbers here
]  # fmt: skip


@pytest.mark.skipif(not memory.available(), reason="peak RSS cannot be reset here")
def test_timeline_tile_answers_hostile_requests_with_an_error_and_no_large_allocation(view):
    good = {"id": view["id"], "track": 0, "t0": 0.0, "t1": 1.0, "cols": 100}
    assert "error" not in tl.timeline_tile(good)  # also warms up
    with memory.Peak() as peak:
        for request in [*NOT_REQUESTS, *(good | change for change in HOSTILE_FIELDS)]:
            assert_error(tl.timeline_tile(request))
    assert peak.megabytes < 32


def test_timeline_tile_clamps_negative_and_huge_column_counts(view):
    lo, hi = limits.TIMELINE_TILE_COLS
    for cols, expected in ((-5, lo), (0, lo), (5_000_000, hi), (2048.7, hi)):
        out = tl.timeline_tile({"id": view["id"], "track": 0, "t0": -5.0, "t1": 1e6, "cols": cols})
        assert out["spec"]["cols"] == out["peaks"]["cols"] == expected
        assert out["spec"]["t0"] == 0.0 and out["spec"]["dt"] * expected == pytest.approx(1.0)


def test_timeline_overlay_answers_hostile_requests_with_an_error(view):
    for request in (None, "pitch", [], {}, {"id": view["id"], "key": "rms"}, {"id": view["id"], "key": None},
                    {"id": view["id"], "key": ["pitch"]}, {"id": view["id"], "key": "pitch", "track": 7},
                    {"id": "f" * 24, "key": "pitch"}, {"id": None, "key": "loudness"}):  # fmt: skip
        assert_error(tl.timeline_overlay(request))


def test_timeline_overlay_of_a_clip_too_short_for_it_is_an_error(store):
    short = tl.show([tl.Clip(signals.sine(440, 16_000, 0.2), 16_000, "short")])
    assert_error(tl.timeline_overlay({"id": short["id"], "track": 0, "key": "loudness"}))


def test_an_evicted_view_answers_expired(store):
    store.max_views = 3
    first = tl.show([tl.Clip(signals.sine(seconds=0.5), 16_000, "a")])
    for _ in range(store.max_views):
        tl.show([tl.Clip(signals.sine(seconds=0.1), 16_000, "b")])
    out = tl.timeline_tile({"id": first["id"], "track": 0, "t0": 0, "t1": 0.5, "cols": 100})
    assert_error(out)
    assert "expired" in out["error"][0]
