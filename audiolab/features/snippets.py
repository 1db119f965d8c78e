"""The torchaudio code behind the Features tab, as text for its "Code" panel.

:func:`feature_snippet` returns plain Python that runs as is once the audio file exists and
ends with ``feature`` holding the tensor the tab computed (the tests execute it and compare).
Transforms see a ``(channel, 1, time)`` batch, as in the tab, so each channel is computed on
its own (``top_db`` is relative to each channel's peak).
"""

from __future__ import annotations

import inspect

from audiolab.core import io as aio
from audiolab.features import compute as features
from audiolab.features.compute import FeatureResult

HEADER = """\
import torch
import torchaudio
import torchaudio.functional as F
import torchaudio.transforms as T

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
"""


def _kwargs(kwargs: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _value(value: object, indent: str) -> str:
    if not isinstance(value, dict):
        return repr(value)
    inner = "".join(f"{indent}    {k}={v!r},\n" for k, v in value.items())
    return f"dict(\n{inner}{indent})"


def _call(name: str, kwargs: dict) -> str:
    """``T.Name(k=v, ...)`` (one argument a line when long), ``sample_rate=sample_rate`` (the
    variable loaded above) and dict arguments written as ``dict(...)``."""
    parts = [f"{k}=sample_rate" if k == "sample_rate" else f"{k}={_value(v, '    ')}" for k, v in kwargs.items()]
    one = f"T.{name}({', '.join(parts)})"
    if len(one) <= 90 and "\n" not in one:
        return one
    return f"T.{name}(\n" + "".join(f"    {part},\n" for part in parts) + ")"


def load_lines(path: str, result: FeatureResult) -> list[str]:
    """Load the file as the tab does: the analysed frames, resampled if asked."""
    frames = f", num_frames={result.source_frames}" if result.cut else ""
    lines = [
        f"waveform, sample_rate = torchaudio.load({path!r}{frames})  # float32 (channel, time) in [-1, 1]",
    ]
    if result.sample_rate != result.source_rate:
        src, dst, _ = aio.resample_plan(result.source_rate, result.sample_rate)
        lines += [
            f"waveform = T.Resample({src}, {dst})(waveform).clamp(-1.0, 1.0)",
            f"sample_rate = {result.sample_rate}",
        ]
    return [*lines, "waveform = waveform.to(device)"]


def _db_lines(p: dict, var: str) -> list[str]:
    if not p["db"] or p["power"] is None:
        return []
    if p["power"] in (1.0, 2.0):
        stype = "power" if p["power"] == 2.0 else "magnitude"
        return [
            f"{var} = T.AmplitudeToDB({stype!r}, top_db={p['top_db']!r})({var})  # top_db below each channel's peak"
        ]
    return [
        f"{var} = F.amplitude_to_DB({var}, multiplier=20.0 / {p['power']!r}, amin=1e-10, db_multiplier=0.0, "
        f"top_db={p['top_db']!r})  # dB of |X|^{p['power']:g}"
    ]


def _stft_lines(feature: str, p: dict, rate: int, var: str) -> list[str]:
    """Lines leaving ``var`` = the spectrogram/mel/MFCC/LFCC, ``(channel, ..., time)`` on the device."""
    name, kwargs = features.transform_spec(feature, p, rate)
    lines = [
        f"transform = {_call(name, kwargs)}.to(device)",
        "# a (channel, 1, time) batch: each channel on its own",
        f"{var} = transform(waveform.unsqueeze(1))",
    ]
    if feature in ("spectrogram", "mel_spectrogram"):
        lines += _db_lines(p, var)
    return [*lines, f"{var} = {var}.squeeze(1)  # {features.DIMS.get(feature, '')}"]


def _feature_lines(result: FeatureResult) -> list[str]:
    name, p, rate = result.name, result.params, result.sample_rate
    if name in ("spectrogram", "mel_spectrogram", "mfcc", "lfcc"):
        return _stft_lines(name, p, rate, "feature")
    if name == "mel_filterbank":
        kw = {"n_freqs": p["n_fft"] // 2 + 1, "f_min": p["f_min"], "f_max": p["f_max"] or float(rate // 2)}
        kw |= {"n_mels": p["n_mels"], "sample_rate": rate, "norm": p["mel_norm"], "mel_scale": p["mel_scale"]}
        return [f"feature = F.melscale_fbanks({_kwargs(kw)})  # (n_freqs, n_mels)"]
    if name == "deltas":
        kw = _kwargs({"win_length": p["delta_win_length"], "mode": p["delta_mode"]})
        lines = [*_stft_lines(p["base"], p, rate, "base"), f"delta = F.compute_deltas(base, {kw})"]
        if p["delta_order"] == 1:
            return [*lines, "feature = delta.unsqueeze(1)  # (channel, 1, coeff, time)"]
        return [*lines, f"delta2 = F.compute_deltas(delta, {kw})",
                "feature = torch.stack([delta, delta2], dim=1)  # (channel, 2, coeff, time)"]  # fmt: skip
    if name == "cmn":
        kw = {"cmn_window": p["cmn_window"], "min_cmn_window": p["min_cmn_window"], "center": p["cmn_center"]}
        return [
            *_stft_lines(p["base"], p, rate, "base"),
            "# sliding_window_cmn wants (..., time, freq); the app runs an equal vectorised version",
            f"feature = F.sliding_window_cmn(base.transpose(-1, -2), {_kwargs(kw)}, norm_vars={p['norm_vars']!r})",
            "feature = feature.transpose(-1, -2)  # (channel, coeff, time)",
        ]
    if name == "spectral_centroid":
        _, kwargs = features.transform_spec(name, p, rate)
        return [f"transform = {_call('SpectralCentroid', kwargs)}.to(device)",
                "feature = transform(waveform)  # (channel, time), Hz"]  # fmt: skip
    if name == "loudness":
        return [
            "feature = F.loudness(waveform.unsqueeze(1), sample_rate)  # (channel,): LKFS of each channel alone",
            "if waveform.shape[0] <= 5:  # ITU-R BS.1770 programme loudness of all channels together",
            "    print(F.loudness(waveform, sample_rate))",
        ]
    if name == "pitch_detect":
        kw = {k: p[k] for k in ("frame_time", "freq_low", "freq_high")}
        return [
            f"feature = F.detect_pitch_frequency(waveform, sample_rate, win_length={p['median_win']}, {_kwargs(kw)})"
        ]
    kw = {k: p[k] for k in features.PARAMS["pitch_nccf"]}
    return [f"feature = nccf_pitch(waveform, sample_rate, {_kwargs(kw)})  # (channel, frame, [nccf, f0 Hz])"]


def feature_snippet(result: FeatureResult, path: str = "input.wav") -> str:
    """Runnable code that loads ``path`` and computes ``result``'s feature into ``feature`` (CPU)."""
    head = HEADER
    if result.name == "pitch_nccf":  # our tracker (plain torch): its source comes first
        head = "import math\n\n" + HEADER + "\n\n" + nccf_body() + "\n"
    lines = [*load_lines(path, result), *_feature_lines(result), "feature = feature.cpu()", "print(feature.shape)"]
    return head + "\n" + "\n".join(lines) + "\n"


def nccf_body() -> str:
    """The NCCF pitch tracker's two functions (plain torch), as source text."""
    return inspect.getsource(features.nccf_pitch) + "\n\n" + inspect.getsource(features._nccf_peak)
