"""Features tab: the engine and the ``features`` endpoint vs the raw torchaudio calls.

Run alone: ``python -m bench.bench_features`` (engine only; the ``python -m bench`` runner
passes a client for the endpoint rows), or ``python -m bench.bench_features pitch`` for the
pitch rows only (ours vs ``F.detect_pitch_frequency``, measured in the same run).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
import torchaudio
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.core import limits
from audiolab.features import compute as ft
from bench.common import Row, inputs, measure, table

CASES = ["spectrogram", "mel_spectrogram", "mfcc", "lfcc", "deltas", "cmn", "spectral_centroid", "loudness",
         "pitch_detect", "pitch_nccf"]  # fmt: skip


def raw_call(feature: str, waveform: torch.Tensor, rate: int):
    """The torchaudio calls behind ``feature`` with default params, transforms built once (a closure)."""
    p = ft.check_request(feature, {}, sample_rate=rate, channels=waveform.shape[0], frames=waveform.shape[-1])
    if feature in ("spectrogram", "mel_spectrogram", "mfcc", "lfcc", "deltas", "cmn", "spectral_centroid"):
        name, kwargs = ft.transform_spec(p.get("base", feature), p, rate)
        module = getattr(T, name)(**kwargs)
        to_db = T.AmplitudeToDB("power", top_db=80.0)
    if feature in ("spectrogram", "mel_spectrogram"):
        return lambda: to_db(module(waveform.unsqueeze(1))).squeeze(1)
    if feature in ("mfcc", "lfcc", "spectral_centroid"):
        return lambda: module(waveform.unsqueeze(1) if feature != "spectral_centroid" else waveform)
    if feature == "deltas":
        return lambda: F.compute_deltas(F.compute_deltas(module(waveform.unsqueeze(1)).squeeze(1)))
    if feature == "cmn":
        return lambda: F.sliding_window_cmn(module(waveform.unsqueeze(1)).squeeze(1).transpose(-1, -2))
    if feature == "loudness":
        return lambda: F.loudness(waveform.unsqueeze(1), rate)
    if feature == "pitch_detect":
        return lambda: F.detect_pitch_frequency(waveform, rate)
    return None  # pitch_nccf: ours, no torchaudio equivalent


def engine_rows(clips) -> list[Row]:
    """Engine ``compute`` vs raw calls, and the vectorised CMN vs torchaudio's loop."""
    rows = []
    for name, (_, x, rate) in clips.items():
        if name.startswith("10min"):
            continue
        for feature in CASES:
            ours, mem = measure(lambda f=feature, x=x, r=rate: ft.compute(x, r, f), repeat=5)
            raw = raw_call(feature, x, rate)
            refs = {"raw torchaudio": measure(raw, repeat=5)[0]} if raw else {}
            note = "(raw CMN = torchaudio's frame loop)" if feature == "cmn" else ""
            rows.append(Row("features", f"engine {feature}, {name}", ours, mem, refs, note))
        mfcc = ft.compute(x, rate, "mfcc").tensor.transpose(-1, -2).contiguous()
        for norm_vars in (False, True):
            ours, mem = measure(lambda m=mfcc, n=norm_vars: ft.sliding_window_cmn(m, norm_vars=n), repeat=10)
            theirs, _ = measure(lambda m=mfcc, n=norm_vars: F.sliding_window_cmn(m, norm_vars=n), repeat=3)
            rows.append(Row("features", f"vectorised sliding_window_cmn norm_vars={norm_vars}, {name}", ours, mem,
                            {"F.sliding_window_cmn": theirs}))  # fmt: skip
    return rows


def pitch_rows(clips) -> list[Row]:
    """Our ``detect_pitch_frequency`` (``pitch_detect``) vs ``F.detect_pitch_frequency`` with the
    same params, measured in the same run; the note says how many output frames are equal and
    the median f0 of each channel. (``pitch_nccf`` shares none of its work: its engine row.)"""
    rows = []
    for name, (_, x, rate) in clips.items():
        if name.startswith("10min"):
            continue
        p = ft.check_request("pitch_detect", {}, sample_rate=rate, channels=x.shape[0], frames=x.shape[-1])
        kw = {"frame_time": p["frame_time"], "win_length": p["median_win"], "freq_low": p["freq_low"],
              "freq_high": p["freq_high"]}  # fmt: skip
        chunk = limits.FEAT_PITCH_CHUNK_VALUES

        def ours_call(x=x, r=rate, kw=kw, chunk=chunk):
            return ft.detect_pitch_frequency(x, r, **kw, chunk_values=chunk)

        ours, mb = measure(ours_call, repeat=7)  # ours first: torchaudio's heap stays grown after it
        theirs, _ = measure(lambda x=x, r=rate, kw=kw: F.detect_pitch_frequency(x, r, **kw), repeat=5)
        a, b = ours_call(), F.detect_pitch_frequency(x, rate, **kw)
        pairs = zip(a.median(-1).values, b.median(-1).values, strict=True)
        medians = ", ".join(f"{float(u):.2f}/{float(v):.2f}" for u, v in pairs)
        note = f"frames equal {float((a == b).float().mean()):.2%}, median f0 ours/torchaudio {medians} Hz"
        ref = {"F.detect_pitch_frequency": theirs}
        rows.append(Row("features", f"detect_pitch_frequency, all lags at once (pitch_detect), {name}", ours, mb, ref,
                        note))  # fmt: skip
    return rows


def run(client, clips) -> list[Row]:
    """Engine rows plus the ``/features`` endpoint (decode, compute, figure, files, code) per feature."""
    from gradio_client import handle_file

    rows = engine_rows(clips) + pitch_rows(clips)
    path, x, rate = clips["30s mono 16k"]
    for feature in ("mel_spectrogram", "mfcc", "pitch_nccf"):
        raw = raw_call(feature, x, rate) or (lambda: None)

        def load_and_raw(raw=raw, path=path):
            torchaudio.load(str(path))
            raw()

        api, mem = measure(lambda f=feature: client.predict(handle_file(str(path)), f, "{}", api_name="/features"), 3)
        rows.append(Row("features", f"/features {feature} via gradio_client, 30s mono 16k", api, mem,
                        {"torchaudio load + raw call": measure(load_and_raw, repeat=3)[0]}))  # fmt: skip
    return rows


if __name__ == "__main__":
    torch.set_num_threads(2)
    rows = pitch_rows if sys.argv[1:] == ["pitch"] else (lambda clips: engine_rows(clips) + pitch_rows(clips))
    with tempfile.TemporaryDirectory() as tmp:
        print(table(rows(inputs(Path(tmp)))))
