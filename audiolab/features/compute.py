"""Audio features with torchaudio: thin, validated wrappers that run on the cache's device.

One entry point, :func:`compute`, takes ``(channel, time)`` float32 audio, a feature name from
:data:`FEATURES` and a flat ``params`` dict (missing keys take :data:`DEFAULTS`). Parameters are
checked against :mod:`audiolab.core.limits` before any work; transforms come from the shared cache
(built once per parameter set, moved to the device once). Every feature is computed per
channel: transforms see a ``(channel, 1, time)`` batch, so dB floors (``top_db``) are relative
to each channel's own peak and a stereo file gives what each channel gives alone.

Three algorithms are ours, with the reason: :func:`sliding_window_cmn` (torchaudio's loops over
frames in Python; this one uses cumulative sums, same values, ~100x faster),
:func:`detect_pitch_frequency` (torchaudio's loops over lags, each over the whole signal; this
one sums all lags of a block of frames in one grouped convolution: same values, 6-50x faster,
bounded memory) and :func:`nccf_pitch` (a pitch tracker with a per-frame voicing measure,
replacing ``compute_kaldi_pitch``, removed in torchaudio 2.1).
"""

from __future__ import annotations

import io
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
import torchaudio
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.core import cache, limits
from audiolab.core import io as aio
from audiolab.core.errors import AudioLabError
from audiolab.core.metrics import gated_loudness, kweighted_blocks

STFT = ("n_fft", "win_length", "hop_length", "center", "pad_mode", "normalized", "power")
MEL = ("f_min", "f_max", "n_mels", "mel_norm", "mel_scale")
_SPEC = (*STFT, "db", "top_db")
_MEL_SPEC = (*STFT, *MEL, "db", "top_db")
_MFCC = (*STFT, *MEL, "n_mfcc", "dct_norm", "log_mels")
_LFCC = (*STFT, "f_min", "f_max", "n_filter", "n_lfcc", "dct_norm", "log_lf")
_BASE = tuple(dict.fromkeys(("base", *_MFCC, *_LFCC, "db", "top_db")))  # every base's keys

PARAMS: dict[str, tuple[str, ...]] = {  # the keys each feature reads (plus "sample_rate")
    "spectrogram": _SPEC,
    "mel_spectrogram": _MEL_SPEC,
    "mel_filterbank": ("n_fft", *MEL),
    "mfcc": _MFCC,
    "lfcc": _LFCC,
    "deltas": (*_BASE, "delta_win_length", "delta_mode", "delta_order"),
    "cmn": (*_BASE, "cmn_window", "min_cmn_window", "cmn_center", "norm_vars"),
    "spectral_centroid": ("n_fft", "win_length", "hop_length"),
    "loudness": (),
    "pitch_detect": ("frame_time", "median_win", "freq_low", "freq_high"),
    "pitch_nccf": ("min_f0", "max_f0", "frame_length_ms", "frame_shift_ms", "voicing_threshold"),
}
FEATURES = tuple(PARAMS)

DEFAULTS: dict[str, object] = {
    "sample_rate": None, "n_fft": 1024, "win_length": None, "hop_length": None, "center": True,
    "pad_mode": "reflect", "normalized": False, "power": 2.0, "db": True, "top_db": 80.0,
    "f_min": 0.0, "f_max": None, "n_mels": 80, "mel_norm": None, "mel_scale": "htk",
    "n_mfcc": 40, "dct_norm": "ortho", "log_mels": False, "n_filter": 128, "n_lfcc": 40, "log_lf": False,
    "base": "mfcc", "delta_win_length": 5, "delta_mode": "replicate", "delta_order": 2,
    "cmn_window": 600, "min_cmn_window": 100, "cmn_center": False, "norm_vars": False,
    "frame_time": 0.01, "median_win": 30, "freq_low": 85, "freq_high": 3400,
    "min_f0": 50.0, "max_f0": 400.0, "frame_length_ms": 25.0, "frame_shift_ms": 10.0, "voicing_threshold": 0.6,
}  # fmt: skip

DIMS = {
    "spectrogram": "(channel, freq, time)",
    "mel_spectrogram": "(channel, n_mels, time)",
    "mel_filterbank": "(n_freqs, n_mels)",
    "mfcc": "(channel, n_mfcc, time)",
    "lfcc": "(channel, n_lfcc, time)",
    "deltas": "(channel, order, coeff, time): [delta, delta-delta]",
    "cmn": "(channel, coeff, time)",
    "spectral_centroid": "(channel, time)",
    "loudness": "(channel,): LKFS of each channel alone",
    "pitch_detect": "(channel, frame)",
    "pitch_nccf": "(channel, frame, 2): [nccf, f0 Hz (NaN where unvoiced)]",
}


@dataclass
class FeatureResult:
    """A computed feature: ``tensor`` on the CPU, the resolved ``params``, and what the plot needs."""

    name: str
    tensor: torch.Tensor
    sample_rate: int
    params: dict
    waveform: torch.Tensor  # the audio analysed (after the cut and resampling), CPU
    source_rate: int  # the file's rate, before resampling
    source_frames: int  # frames of the file analysed, before resampling
    cut: bool = False  # True when only the first ``source_frames`` frames were analysed
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # filterbank, integrated loudness, ...
    seconds: float = 0.0
    device: str = "cpu"

    @property
    def dims(self) -> str:
        """Meaning of the tensor's dimensions."""
        return DIMS[self.name]


# --- parameters -------------------------------------------------------------------------------


def default_params(feature: str) -> dict:
    """The parameters ``feature`` reads, with their defaults."""
    feature = check_feature(feature)
    return {k: DEFAULTS[k] for k in ("sample_rate", *PARAMS[feature])}


def check_feature(feature: object) -> str:
    """``feature`` if it is one of :data:`FEATURES`."""
    return str(limits.check_choice("feature", feature, FEATURES))


def _none(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null", "complex"))


def _bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise AudioLabError(
        f"{name} must be true or false, got {value!r}.", zh=f"{name} 必须是 true 或 false，实际为 {value!r}。"
    )


def _int(name: str, value: object, lo: float, hi: float) -> int:
    return int(limits.check_number(name, value, lo, hi, integer=True))


def _float(name: str, value: object, lo: float, hi: float) -> float:
    return float(limits.check_number(name, value, lo, hi))


def _choice(name: str, value: object, choices: tuple) -> object:
    value = None if _none(value) and None in choices else value
    return limits.check_choice(name, value, choices)


def _check_stft(p: dict, rate: int, channels: int, samples: int) -> None:
    p["n_fft"] = n_fft = _int("n_fft", p["n_fft"], *limits.FEAT_N_FFT_RANGE)
    win = p.get("win_length")
    p["win_length"] = n_fft if _none(win) or win == 0 else _int("win_length", win, limits.FEAT_MIN_WIN_LENGTH, n_fft)
    hop, lo = p.get("hop_length"), -(-n_fft // limits.FEAT_HOP_MIN_DIVISOR)
    hop = p["win_length"] // 2 if _none(hop) or hop == 0 else hop  # torchaudio's default
    p["hop_length"] = hop = _int(f"hop_length (at least n_fft/{limits.FEAT_HOP_MIN_DIVISOR})", hop, max(lo, 1), n_fft)
    if "center" in p:
        p["center"] = _bool("center", p["center"])
        p["pad_mode"] = _choice("pad_mode", p["pad_mode"], limits.FEAT_PAD_MODES)
        p["normalized"] = _bool("normalized", p["normalized"])
    center = p.get("center", True)
    need = n_fft // 2 + 1 if center else n_fft
    if samples < need:
        raise AudioLabError(
            f"The audio has {samples} samples; n_fft={n_fft} needs at least {need}. Use a smaller n_fft.",
            zh=f"音频只有 {samples} 个采样点；n_fft={n_fft} 至少需要 {need} 个。请使用更小的 n_fft。",
        )
    frames = 1 + (samples // hop if center else (samples - n_fft) // hop)
    values = channels * (n_fft // 2 + 1) * frames
    if values > limits.FEAT_MAX_VALUES:
        raise AudioLabError(
            f"This spectrogram would hold {values:,} values (limit {limits.FEAT_MAX_VALUES:,}): "
            f"raise hop_length (now {hop}), lower n_fft, or use a shorter clip.",
            zh=(
                f"此频谱图将包含 {values:,} 个值（上限 {limits.FEAT_MAX_VALUES:,}）：请增大 hop_length（当前 {hop}）、"
                "减小 n_fft，或使用更短的音频。"
            ),
        )


def _check_power(p: dict, feature: str) -> None:
    if _none(p["power"]):
        if feature != "spectrogram":
            raise AudioLabError(
                f"power=None (complex) works for the spectrogram only, not {feature}.",
                zh=f"power=None（复数）只适用于频谱图，不适用于 {feature}。",
            )
        p["power"] = None
    else:
        p["power"] = _float("power", p["power"], *limits.FEAT_POWER_RANGE)


def _check_band(p: dict, rate: int) -> None:
    nyquist = rate / 2
    p["f_min"] = f_min = _float("f_min (Hz)", p["f_min"], 0.0, nyquist)
    f_max = p["f_max"]
    p["f_max"] = None if _none(f_max) or f_max == 0 else _float("f_max (Hz)", f_max, 0.0, nyquist)
    if (p["f_max"] or nyquist) <= f_min:
        raise AudioLabError(
            f"f_min={f_min:g} Hz must be below f_max={p['f_max'] or nyquist:g} Hz.",
            zh=f"f_min={f_min:g} Hz 必须低于 f_max={p['f_max'] or nyquist:g} Hz。",
        )


def _check_mel(p: dict, rate: int) -> None:
    _check_band(p, rate)
    n_freqs = p["n_fft"] // 2 + 1
    hi = min(limits.FEAT_N_MELS_RANGE[1], n_freqs)
    p["n_mels"] = _int(f"n_mels (at most n_fft // 2 + 1 = {n_freqs})", p["n_mels"], limits.FEAT_N_MELS_RANGE[0], hi)
    p["mel_norm"] = _choice("mel norm", p["mel_norm"], limits.FEAT_MEL_NORMS)
    p["mel_scale"] = _choice("mel_scale", p["mel_scale"], limits.FEAT_MEL_SCALES)


def _check_cepstrum(p: dict, kind: str, rate: int) -> None:
    if kind == "mfcc":
        _check_mel(p, rate)
        p["n_mfcc"] = _int(f"n_mfcc (at most n_mels = {p['n_mels']})", p["n_mfcc"], 1, p["n_mels"])
        p["log_mels"] = _bool("log_mels", p["log_mels"])
    else:
        _check_band(p, rate)
        n_freqs = p["n_fft"] // 2 + 1
        hi = min(limits.FEAT_N_FILTER_RANGE[1], n_freqs)
        p["n_filter"] = _int(f"n_filter (at most n_fft // 2 + 1 = {n_freqs})", p["n_filter"], 1, hi)
        p["n_lfcc"] = _int(f"n_lfcc (at most n_filter = {p['n_filter']})", p["n_lfcc"], 1, p["n_filter"])
        p["log_lf"] = _bool("log_lf", p["log_lf"])
    p["dct_norm"] = _choice("dct norm", p["dct_norm"], limits.FEAT_DCT_NORMS)


def _check_db(p: dict) -> None:
    p["db"] = _bool("db", p["db"])
    top = p["top_db"]
    p["top_db"] = None if _none(top) or top == 0 else _float("top_db", top, *limits.FEAT_TOP_DB_RANGE)


def _check_base(p: dict, rate: int, channels: int, samples: int) -> str:
    base = p["base"] = str(_choice("base feature", p["base"], limits.FEAT_BASES))
    _check_stft(p, rate, channels, samples)
    _check_power(p, base)
    if p["power"] is None:
        raise AudioLabError(
            "power=None (complex) cannot be the base of deltas or CMN: use power 1 or 2.",
            zh="power=None（复数）不能作为差分或 CMN 的基础特征：请使用 power 1 或 2。",
        )
    if base in ("mfcc", "lfcc"):
        _check_cepstrum(p, base, rate)
    else:
        if base == "mel_spectrogram":
            _check_mel(p, rate)
        _check_db(p)
    return base


def stft_frames(p: dict, samples: int) -> int:
    """Frames an STFT with ``p``'s settings makes from ``samples`` samples."""
    if p.get("center", True):
        return 1 + samples // p["hop_length"]
    return 1 + (samples - p["n_fft"]) // p["hop_length"]


def _check_deltas(p: dict, samples: int) -> None:
    p["delta_win_length"] = w = _int("delta win_length", p["delta_win_length"], *limits.FEAT_DELTA_WIN_RANGE)
    p["delta_mode"] = _choice("delta mode", p["delta_mode"], limits.FEAT_DELTA_MODES)
    p["delta_order"] = int(_choice("delta order", _as_int(p["delta_order"]), limits.FEAT_DELTA_ORDERS))
    frames = stft_frames(p, samples)
    if p["delta_mode"] in ("reflect", "circular") and frames <= (w - 1) // 2:
        raise AudioLabError(
            f"delta mode {p['delta_mode']!r} needs more than {(w - 1) // 2} frames; got {frames}.",
            zh=f"差分模式 {p['delta_mode']!r} 需要多于 {(w - 1) // 2} 帧；实际为 {frames} 帧。",
        )


def _check_cmn(p: dict) -> None:
    p["cmn_window"] = _int("cmn_window (frames)", p["cmn_window"], *limits.FEAT_CMN_WINDOW_RANGE)
    p["min_cmn_window"] = _int("min_cmn_window (frames)", p["min_cmn_window"], *limits.FEAT_CMN_WINDOW_RANGE)
    p["cmn_center"] = _bool("cmn center", p["cmn_center"])
    p["norm_vars"] = _bool("norm_vars", p["norm_vars"])


def _check_pitch_detect(p: dict, rate: int, channels: int, samples: int) -> None:
    p["frame_time"] = _float("frame_time (s)", p["frame_time"], *limits.FEAT_PITCH_FRAME_TIME_RANGE)
    p["median_win"] = _int("median window (frames)", p["median_win"], *limits.FEAT_MEDIAN_WIN_RANGE)
    p["freq_low"] = low = _int("freq_low (Hz)", p["freq_low"], *limits.FEAT_FREQ_LOW_RANGE)
    p["freq_high"] = high = _int(f"freq_high (Hz, at most {rate // 2})", p["freq_high"], low + 1, rate // 2)
    lags = math.ceil(rate / low)
    if math.ceil(rate / high) >= lags // 2:
        raise AudioLabError(
            f"freq_high={high} Hz must be above about 2 x freq_low={low} Hz (at {rate} Hz).",
            zh=f"freq_high={high} Hz 必须高于约 2 x freq_low={low} Hz（采样率 {rate} Hz）。",
        )
    frames = math.ceil(samples / math.ceil(rate * p["frame_time"]))
    if frames < p["median_win"]:
        raise AudioLabError(
            f"The audio makes {frames} frames; the median window needs {p['median_win']}.",
            zh=f"音频只能分成 {frames} 帧；中值窗口需要 {p['median_win']} 帧。",
        )
    if lags * channels * samples > limits.FEAT_PITCH_MAX_WORK:
        raise AudioLabError(
            f"detect_pitch_frequency would test {lags} lags on {channels * samples:,} samples: "
            "raise freq_low or use a shorter clip.",
            zh=(
                f"detect_pitch_frequency 将在 {channels * samples:,} 个采样点上测试 {lags} 个延迟：请提高 freq_low 或"
                "使用更短的音频。"
            ),
        )


def _check_pitch_nccf(p: dict, rate: int) -> None:
    p["min_f0"] = lo = _float("min_f0 (Hz)", p["min_f0"], *limits.FEAT_F0_RANGE)
    top = min(limits.FEAT_F0_RANGE[1], rate / 4)
    p["max_f0"] = _float("max_f0 (Hz, at least 1.5 x min_f0, at most sample_rate / 4)", p["max_f0"], lo * 1.5, top)
    p["frame_length_ms"] = _float("frame_length (ms)", p["frame_length_ms"], *limits.FEAT_NCCF_FRAME_MS_RANGE)
    p["frame_shift_ms"] = _float("frame_shift (ms)", p["frame_shift_ms"], *limits.FEAT_NCCF_SHIFT_MS_RANGE)
    p["voicing_threshold"] = _float("voicing_threshold", p["voicing_threshold"], 0.0, 1.0)


def resolve_params(feature: str, params: dict | None, *, sample_rate: int, channels: int, samples: int) -> dict:
    """Defaults filled in and every value checked for ``feature`` on this audio (rate after
    resampling, channel count, samples per channel); raises :class:`AudioLabError`."""
    feature = check_feature(feature)
    params = dict(params or {})
    allowed = ("sample_rate", *PARAMS[feature])
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise AudioLabError(
            f"Unknown parameter(s) {unknown} for {feature}. Valid: {', '.join(allowed)}.",
            zh=f"{feature} 没有参数 {unknown}。有效参数：{', '.join(allowed)}。",
        )
    p = {k: params.get(k, DEFAULTS[k]) for k in allowed}
    p["sample_rate"] = None if _none(p["sample_rate"]) else int(_choice("sample_rate", _as_int(p["sample_rate"]),
                                                                         limits.RESAMPLE_TARGETS))  # fmt: skip
    if feature in ("spectrogram", "mel_spectrogram", "mfcc", "lfcc"):
        _check_stft(p, sample_rate, channels, samples)
        _check_power(p, feature)
        if feature in ("mfcc", "lfcc"):
            _check_cepstrum(p, feature, sample_rate)
        elif feature == "mel_spectrogram":
            _check_mel(p, sample_rate)
        if "db" in p:
            _check_db(p)
    elif feature == "mel_filterbank":
        p["n_fft"] = _int("n_fft", p["n_fft"], *limits.FEAT_N_FFT_RANGE)
        _check_mel(p, sample_rate)
    elif feature in ("deltas", "cmn"):
        _check_base(p, sample_rate, channels, samples)
        if feature == "deltas":
            _check_deltas(p, samples)
        else:
            _check_cmn(p)
    elif feature == "spectral_centroid":
        _check_stft(p, sample_rate, channels, samples)
    elif feature == "loudness" and samples < round(limits.FEAT_MIN_LOUDNESS_S * sample_rate):
        raise AudioLabError(
            f"Loudness needs at least {limits.FEAT_MIN_LOUDNESS_S:g} s of audio.",
            zh=f"响度至少需要 {limits.FEAT_MIN_LOUDNESS_S:g} 秒的音频。",
        )
    elif feature == "pitch_detect":
        _check_pitch_detect(p, sample_rate, channels, samples)
    elif feature == "pitch_nccf":
        _check_pitch_nccf(p, sample_rate)
    return p


def _as_int(value: object) -> object:
    try:
        return int(float(value))  # "16000", 16000.0 -> 16000
    except (TypeError, ValueError):
        return value


# --- audio preparation --------------------------------------------------------------------------


def analysed_frames(sample_rate: int, frames: int, channels: int = 1) -> int:
    """Frames of a file the Features tab analyses: the first ``FEAT_MAX_DURATION_S`` seconds, and at
    most ``FEAT_MAX_INPUT_SAMPLES`` samples across channels (bounded memory)."""
    return min(frames, limits.max_frames(sample_rate, channels, limits.FEAT_MAX_DURATION_S,
                                         limits.FEAT_MAX_INPUT_SAMPLES))  # fmt: skip


def _resampled_length(frames: int, rate: int, target: int | None) -> int:
    return frames if not target or target == rate else math.ceil(frames * target / rate)


def prepare(waveform: torch.Tensor, sample_rate: int, target_rate: int | None, notes: list[str]):
    """Cut to the analysed length and resample to ``target_rate`` (if given): ``(waveform, rate)``."""
    keep = analysed_frames(sample_rate, waveform.shape[-1], waveform.shape[0])
    if keep < waveform.shape[-1]:
        notes.append(
            f"Only the first {keep / sample_rate:.3g} s were analysed (limit {limits.FEAT_MAX_DURATION_S:g} s / "
            f"{limits.FEAT_MAX_INPUT_SAMPLES:,} samples across channels)."
        )
        waveform = waveform[:, :keep]
    if target_rate and target_rate != sample_rate:
        waveform = aio.resample(waveform, sample_rate, target_rate, notes)
        notes.append(f"Resampled from {sample_rate} Hz to {target_rate} Hz before computing.")
        sample_rate = target_rate
    return waveform, sample_rate


# --- cached transforms ----------------------------------------------------------------------------


def _quiet(build):
    """Build a transform without torchaudio's empty-filterbank warning (we report it as a note)."""

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return build()

    return run


def spec_kwargs(p: dict) -> dict:
    """``T.Spectrogram`` keyword arguments for resolved params ``p`` (hann window, no pad)."""
    keys = ("n_fft", "win_length", "hop_length", "center", "pad_mode", "normalized", "power")
    return {k: p[k] for k in keys}


def mel_kwargs(p: dict, rate: int) -> dict:
    """``T.MelSpectrogram`` keyword arguments for resolved params ``p``."""
    out = {"sample_rate": rate, **spec_kwargs(p), "f_min": p["f_min"], "f_max": p["f_max"], "n_mels": p["n_mels"]}
    return {**out, "norm": p["mel_norm"], "mel_scale": p["mel_scale"]}


def transform_spec(feature: str, p: dict, rate: int) -> tuple[str, dict]:
    """``(torchaudio.transforms class name, keyword arguments)`` of the transform behind ``feature``."""
    if feature == "spectrogram":
        return "Spectrogram", spec_kwargs(p)
    if feature == "mel_spectrogram":
        return "MelSpectrogram", mel_kwargs(p, rate)
    if feature == "mfcc":
        kw = {"sample_rate": rate, "n_mfcc": p["n_mfcc"], "norm": p["dct_norm"], "log_mels": p["log_mels"]}
        mel = mel_kwargs(p, rate)
        mel.pop("sample_rate")
        return "MFCC", {**kw, "melkwargs": mel}
    if feature == "lfcc":
        kw = {"sample_rate": rate, "n_filter": p["n_filter"], "f_min": p["f_min"], "f_max": p["f_max"]}
        return "LFCC", {**kw, "n_lfcc": p["n_lfcc"], "norm": p["dct_norm"], "log_lf": p["log_lf"],
                        "speckwargs": spec_kwargs(p)}  # fmt: skip
    if feature == "spectral_centroid":
        keys = ("n_fft", "win_length", "hop_length")
        return "SpectralCentroid", {"sample_rate": rate, **{k: p[k] for k in keys}}
    raise ValueError(f"{feature} has no transform")


def _key(kwargs: dict) -> tuple:
    return tuple((k, _key(v) if isinstance(v, dict) else v) for k, v in sorted(kwargs.items()))


def transform(feature: str, p: dict, rate: int) -> torch.nn.Module:
    """The cached transform for ``feature`` with resolved params ``p`` (on the cache's device)."""
    name, kwargs = transform_spec(feature, p, rate)
    cls = getattr(T, name)
    return cache.transform(name, _key(kwargs), _quiet(lambda: cls(**kwargs)))


def empty_filters(fb: torch.Tensor) -> int:
    """Filters (columns of an ``(n_freqs, n_filters)`` bank) that are all zero."""
    return int((fb.amax(0) <= 0).sum())


# --- computations ---------------------------------------------------------------------------


def to_db(x: torch.Tensor, *, power: float, top_db: float | None) -> torch.Tensor:
    """dB of a ``(channel, 1, freq, time)`` ``|X|**power`` batch; ``top_db`` below each channel's peak."""
    return F.amplitude_to_DB(x, multiplier=20.0 / power, amin=1e-10, db_multiplier=0.0, top_db=top_db)


def _stft_feature(feature: str, x: torch.Tensor, p: dict, rate: int, notes: list[str]) -> torch.Tensor:
    """Spectrogram / mel / MFCC / LFCC of ``(channel, time)`` ``x`` (on the module's device)."""
    module = transform(feature, p, rate)
    if feature in ("mel_spectrogram", "mfcc"):
        bank = (module.mel_scale if feature == "mel_spectrogram" else module.MelSpectrogram.mel_scale).fb
        _note_empty(bank, "mel", notes)
    elif feature == "lfcc":
        _note_empty(module.filter_mat, "linear", notes)
    out = module(x.to(cache.device_of(module)).unsqueeze(1))  # (channel, 1, ..., time): per channel
    if feature in ("spectrogram", "mel_spectrogram") and p["db"] and p["power"] is not None:
        out = to_db(out, power=p["power"], top_db=p["top_db"])
    return out.squeeze(1)


def _note_empty(bank: torch.Tensor, kind: str, notes: list[str]) -> None:
    empty = empty_filters(bank)
    if empty:
        notes.append(
            f"{empty} of {bank.shape[1]} {kind} filters are empty (all zero): too many filters for n_fft; "
            "lower their number or raise n_fft."
        )


def compute_deltas(base: torch.Tensor, p: dict) -> torch.Tensor:
    """``(channel, order, coeff, time)``: deltas (and delta-deltas) of a ``(channel, coeff, time)`` feature."""
    delta = F.compute_deltas(base, win_length=p["delta_win_length"], mode=p["delta_mode"])
    if p["delta_order"] == 1:
        return delta.unsqueeze(1)
    return torch.stack([delta, F.compute_deltas(delta, win_length=p["delta_win_length"], mode=p["delta_mode"])], 1)


def cmn_bounds(frames: int, cmn_window: int, min_cmn_window: int, center: bool, device=None):
    """Start and end (exclusive) frame of each frame's window, as torchaudio's ``sliding_window_cmn`` moves it."""
    t = torch.arange(frames, device=device)
    if center:
        start = t - cmn_window // 2
        end = torch.where(start < 0, cmn_window, start + cmn_window)
        start = start.clamp(min=0)
    else:
        start = (t - cmn_window).clamp(min=0)
        end = torch.clamp(t + 1, min=min_cmn_window)
    over = (end - frames).clamp(min=0)
    return (start - over).clamp(min=0), end - over


def sliding_window_cmn(
    specgram: torch.Tensor,
    *,
    cmn_window: int = 600,
    min_cmn_window: int = 100,
    center: bool = False,
    norm_vars: bool = False,
) -> torch.Tensor:
    """Sliding-window cepstral mean (and variance) normalisation of ``(..., time, freq)`` features.

    Same windows and values as ``torchaudio.functional.sliding_window_cmn`` (which loops over
    frames in Python), computed at once from cumulative sums in float64: ~100x faster, and
    without the float32 drift of a running sum.
    """
    frames = specgram.shape[-2]
    start, end = cmn_bounds(frames, cmn_window, min_cmn_window, center, specgram.device)
    sums = torch.nn.functional.pad(specgram.cumsum(-2, dtype=torch.float64), (0, 0, 1, 0))
    count = (end - start).to(torch.float64).unsqueeze(-1)
    mean = (sums.index_select(-2, end) - sums.index_select(-2, start)) / count
    out = specgram - mean.to(specgram.dtype)
    if norm_vars:
        squares = torch.nn.functional.pad((specgram * specgram).cumsum(-2, dtype=torch.float64), (0, 0, 1, 0))
        var = (squares.index_select(-2, end) - squares.index_select(-2, start)) / count - mean * mean
        out = torch.where(count == 1, 0.0, out * var.rsqrt().to(specgram.dtype))
    return out


def nccf_pitch(
    waveform: torch.Tensor,
    sample_rate: int,
    *,
    min_f0: float = 50.0,
    max_f0: float = 400.0,
    frame_length_ms: float = 25.0,
    frame_shift_ms: float = 10.0,
    voicing_threshold: float = 0.6,
    chunk_values: int = 1_000_000,
) -> torch.Tensor:
    """Pitch and voicing of ``(..., time)`` audio: ``(..., frame, 2)`` holding [NCCF, f0 in Hz].

    Frame ``i`` is centred at ``i * frame_shift``. For each frame, the normalised
    cross-correlation (NCCF) of a ``frame_length`` window with the signal ``lag`` samples
    later is computed for every lag by FFT; the smallest-lag local maximum within 10% of the
    best one between ``1/max_f0`` and ``1/min_f0`` gives the period (refined by parabolic
    interpolation). Its NCCF (in [-1, 1], near 1 for periodic frames) is the voicing measure;
    f0 is NaN where it is below ``voicing_threshold``. Replaces ``compute_kaldi_pitch``
    (removed in torchaudio 2.1), whose output was also ``(..., frame, 2)`` [NCCF, pitch].
    """
    hop = max(1, round(sample_rate * frame_shift_ms / 1000))
    win = max(2, round(sample_rate * frame_length_ms / 1000))
    lag_min, lag_max = max(2, math.floor(sample_rate / max_f0)), math.ceil(sample_rate / min_f0) + 1
    span = win + lag_max + 1
    n_fft = 1 << (span - 1).bit_length()
    shape = waveform.shape
    x = waveform.reshape(-1, shape[-1])
    frames = 1 + shape[-1] // hop
    # the windows correlated at lag T span win + T samples: centre them on i * hop for a middle T
    left = (win + round(sample_rate / math.sqrt(min_f0 * max_f0))) // 2
    x = torch.nn.functional.pad(x, (left, frames * hop + span - shape[-1] - left))
    segments = x.unfold(-1, span, hop)[:, :frames]  # (batch, frame, span), a view
    step = max(1, chunk_values // (n_fft * x.shape[0]))
    parts = [_nccf_peak(segments[:, i : i + step], win, lag_min, lag_max, n_fft) for i in range(0, frames, step)]
    peak, lag = (torch.cat(v, 1) for v in zip(*parts, strict=True))
    f0 = torch.where(peak >= voicing_threshold, sample_rate / lag, float("nan"))
    return torch.stack([peak, f0], -1).reshape(*shape[:-1], frames, 2)


def _nccf_peak(segments: torch.Tensor, win: int, lag_min: int, lag_max: int, n_fft: int):
    """Best NCCF value and (fractional) lag of each ``(batch, frame, span)`` segment."""
    head = torch.fft.rfft(segments[..., :win], n=n_fft)
    corr = torch.fft.irfft(head.conj() * torch.fft.rfft(segments, n=n_fft), n=n_fft)[..., : lag_max + 2]
    energy = torch.nn.functional.pad((segments.double() ** 2).cumsum(-1), (1, 0))
    lags = torch.arange(lag_max + 2, device=segments.device)
    e0, em = energy[..., win : win + 1], energy[..., lags + win] - energy[..., lags]
    floor = 1e-10 * win  # about -100 dBFS: silence has no pitch
    nccf = (corr / torch.sqrt((e0 * em).clamp(min=floor * floor))).float()
    nccf = torch.where(e0 > floor, nccf, 0.0)
    mid = nccf[..., 1:-1]  # lags 1 .. lag_max
    ok = (lags[1:-1] >= lag_min) & (mid >= nccf[..., :-2]) & (mid > nccf[..., 2:])
    best = torch.where(ok, mid, -2.0).amax(-1, keepdim=True)
    m = torch.argmax((ok & (mid >= 0.9 * best)).to(torch.uint8), -1, keepdim=True) + 1  # smallest such lag
    r0, r1, r2 = nccf.gather(-1, m - 1), nccf.gather(-1, m), nccf.gather(-1, m + 1)
    curve = r0 - 2 * r1 + r2
    delta = torch.where(curve < 0, 0.5 * (r0 - r2) / curve.clamp(max=-1e-12), 0.0).clamp(-0.5, 0.5)
    peak = torch.where(best > -2, (r1 - 0.25 * (r0 - r2) * delta).clamp(max=1.0), 0.0)
    return peak.squeeze(-1), (m + delta).squeeze(-1)


def _loudness(x: torch.Tensor, rate: int, extra: dict, notes: list[str]) -> torch.Tensor:
    """Per-channel LKFS (as ``F.loudness(x.unsqueeze(1), rate)``), programme LKFS (as
    ``F.loudness(x, rate)``) and momentary loudness, from one K-weighting pass instead of three."""
    energy = kweighted_blocks(x, rate)  # (channel, block)
    per_channel = gated_loudness(energy.unsqueeze(1))
    extra["momentary"] = (-0.691 + 10 * torch.log10(energy.clamp(min=1e-12))).cpu()
    if x.shape[0] <= 5:
        extra["integrated_lkfs"] = float(gated_loudness(energy))
    else:
        notes.append("ITU-R BS.1770 weights at most 5 channels: no programme loudness for this file.")
    if not torch.isfinite(per_channel).all():
        notes.append("A channel is silent (or below the -70 LKFS gate): its loudness is -inf or NaN.")
    return per_channel


def detect_pitch_frequency(waveform: torch.Tensor, sample_rate: int, *, frame_time: float, win_length: int,
                           freq_low: int, freq_high: int, chunk_values: int) -> torch.Tensor:  # fmt: skip
    """``F.detect_pitch_frequency`` of ``(..., time)`` audio, faster and in bounded memory:
    :func:`pitch_lags`, then torchaudio's median smoothing and ``sample_rate / (1e-9 + lag)``."""
    lags = pitch_lags(waveform, sample_rate, frame_time=frame_time, freq_low=freq_low, freq_high=freq_high,
                      chunk_values=chunk_values)  # fmt: skip
    return sample_rate / (10 ** (-9) + median_smoothing(lags, win_length).to(torch.float))


def pitch_lags(waveform: torch.Tensor, sample_rate: int, *, frame_time: float, freq_low: int, freq_high: int,
               chunk_values: int) -> torch.Tensor:  # fmt: skip
    """``(..., frame)``: the lag of each frame that ``F.detect_pitch_frequency`` picks before
    its median smoothing (torchaudio's ``_find_max_per_frame(_compute_nccf(...))``).

    torchaudio loops in Python over every lag (``sample_rate / freq_low`` of them, ~520 at
    44.1 kHz), each with products, sums and norms of the whole signal. Here a block of frames
    (``chunk_values`` samples read) at a time: each frame's products with the signal at every
    lag are summed by one grouped convolution (float32 on the CPU, as torchaudio's sums;
    float64 elsewhere, where float32 convolutions may run in TF32), the energies of every
    frame and lagged frame come from sums restarting every frame (float64, exact to ~1e-16 of
    each energy, however loud the samples around it), and the block is reduced to one lag per
    frame before the next. Then torchaudio's steps: its NCCF (the products divided by both
    energies, each plus 1e-9 on its square root), the first best lag from ``sample_rate /
    freq_high``, and the first best of the first half of the lags instead when above 0.99
    times it (``_combine_max``). A lag differs from torchaudio's only where two lags (or the
    first half's best and 0.99 times the best) tie within float32 rounding.
    """
    x = waveform.reshape(-1, waveform.shape[-1])
    lags, size = math.ceil(sample_rate / freq_low), math.ceil(sample_rate * frame_time)
    lag_min = math.ceil(sample_rate / freq_high)
    frames, reach = math.ceil(x.shape[-1] / size), -(-lags // size)  # reach: blocks of size past a frame
    step = max(1, chunk_values // ((size + lags) * x.shape[0]))
    out = []
    for i in range(0, frames, step):
        n = min(step, frames - i)
        # frame i reads samples [i * size, (i + 1) * size + lags), zeros past the end (as torchaudio)
        block = x[:, i * size : (i + n + reach) * size]
        block = torch.nn.functional.pad(block, (0, (n + reach) * size - block.shape[-1]))
        out.append(_pitch_lag(block, n, size, lag_min, lags))
    return torch.cat(out, 1).reshape(*waveform.shape[:-1], frames)


def _pitch_lag(x: torch.Tensor, frames: int, size: int, lag_min: int, lags: int) -> torch.Tensor:
    """The lag torchaudio's ``_find_max_per_frame`` picks from its ``_compute_nccf`` for each
    of the first ``frames`` frames of ``(batch, time)`` samples."""
    nccf = _nccf(x, frames, size, lag_min, lags)
    best, best_lag = nccf.max(-1)  # the first of equal maxima, as torchaudio
    half, half_lag = nccf[..., : lags // 2 - lag_min].max(-1)
    return torch.where(half > 0.99 * best, half_lag, best_lag) + (lag_min + 1)


def _nccf(x: torch.Tensor, frames: int, size: int, lag_min: int, lags: int) -> torch.Tensor:
    """torchaudio's ``_compute_nccf`` at lags ``lag_min + 1 .. lags`` of the first ``frames``
    frames of ``(batch, time)`` samples (``time`` a multiple of ``size``, at least ``frames *
    size + lags``): ``(batch, frame, lags - lag_min)``."""
    batch, width = x.shape[0], lags - lag_min
    float32_sums = x.dtype == torch.float32 and x.device.type == "cpu"
    y = x.to(x.dtype if float32_sums else torch.float64)
    lagged = y.unfold(-1, size + lags, size)[:, :frames, lag_min + 1 :]  # (batch, frame, lagged samples)
    heads = y[:, : frames * size].reshape(batch * frames, 1, size)
    corr = torch.nn.functional.conv1d(lagged.reshape(1, batch * frames, -1), heads, groups=batch * frames)
    inverse = _inverse_energies(x, size, corr.dtype)  # at t: 1 / (1e-9 + norm of x[t : t + size]) ** 2
    head = inverse[..., : frames * size : size, None]
    later = inverse[..., lag_min + 1 :].unfold(-1, width, size)[..., :frames, :]
    # products of zeros are exactly 0, as torchaudio's
    return corr.view(batch, frames, width).mul_(head).mul_(later).to(x.dtype)


def _inverse_energies(x: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    """``(batch, time - size + 1)``: ``1 / (1e-9 + sqrt(energy)) ** 2`` of the ``size`` samples
    from each start of ``(batch, time)`` samples (``time`` a multiple of ``size``), in ``dtype``;
    the energy summed in float64 to ~1e-16 of itself (exactly 0 for zeros): a sum from the
    start to the end of its block of ``size`` plus one from the next block's start, both
    restarting every block, so that a quiet stretch after a loud one keeps its digits (a
    running sum loses those under the loud one's)."""
    squares = x.to(torch.float64, copy=True).square_().unflatten(-1, (-1, size))
    forward = squares.cumsum(-1)
    forward[..., -1] = 0.0  # a start at a block's start: its block is all of the backward sum
    backward = squares.flip(-1).cumsum(-1).flip(-1).flatten(-2)
    starts = x.shape[-1] - size + 1
    energy = backward[..., :starts].add_(forward.flatten(-2)[..., size - 1 : size - 1 + starts])
    return energy.to(dtype).sqrt_().add_(10 ** (-9)).square_().reciprocal_()


def median_smoothing(indices: torch.Tensor, win_length: int) -> torch.Tensor:
    """torchaudio's ``_median_smoothing``: the (lower) median of ``win_length`` values, the
    first value repeated ``(win_length - 1) // 2`` times before the start; ``win_length - 1 -
    (win_length - 1) // 2`` values fewer than ``indices``."""
    pad = (win_length - 1) // 2
    padded = torch.cat([indices[..., :1].expand(*indices.shape[:-1], pad), indices], -1)
    return padded.unfold(-1, win_length, 1).median(-1).values


def _base(x: torch.Tensor, p: dict, rate: int, notes: list[str]) -> torch.Tensor:
    return _stft_feature(p["base"], x, p, rate, notes)


def _run(feature: str, x: torch.Tensor, p: dict, rate: int, extra: dict, notes: list[str]) -> torch.Tensor:
    """Compute ``feature`` of ``(channel, time)`` audio with resolved params (on the device)."""
    if feature in ("spectrogram", "mel_spectrogram", "mfcc", "lfcc"):
        out = _stft_feature(feature, x, p, rate, notes)
        if feature == "mel_spectrogram":
            extra["filterbank"] = transform(feature, p, rate).mel_scale.fb.cpu()
        return out
    if feature == "mel_filterbank":
        kw = {"n_mels": p["n_mels"], "sample_rate": rate, "f_min": p["f_min"], "f_max": p["f_max"]}
        kw |= {"n_stft": p["n_fft"] // 2 + 1, "norm": p["mel_norm"], "mel_scale": p["mel_scale"]}
        fb = cache.transform("MelScale", _key(kw), _quiet(lambda: T.MelScale(**kw))).fb
        _note_empty(fb, "mel", notes)
        return fb
    if feature == "deltas":
        return compute_deltas(_base(x, p, rate, notes), p)
    if feature == "cmn":
        base = _base(x, p, rate, notes).transpose(-1, -2)  # (channel, time, coeff)
        kw = {"cmn_window": p["cmn_window"], "min_cmn_window": p["min_cmn_window"]}
        out = sliding_window_cmn(base, **kw, center=p["cmn_center"], norm_vars=p["norm_vars"]).transpose(-1, -2)
        if p["norm_vars"] and not bool(torch.isfinite(out).all()):
            notes.append("Some coefficients do not vary inside their window: norm_vars divides by 0 there "
                         "(inf/NaN, as in torchaudio).")  # fmt: skip
        return out
    if feature == "spectral_centroid":
        module = transform(feature, p, rate)
        return module(x.to(cache.device_of(module)))
    x = x.to(cache.default_device())
    if feature == "loudness":
        return _loudness(x, rate, extra, notes)
    if feature == "pitch_detect":
        kw = {k: p[k] for k in ("frame_time", "freq_low", "freq_high")}
        return detect_pitch_frequency(x, rate, win_length=p["median_win"], **kw,
                                      chunk_values=limits.FEAT_PITCH_CHUNK_VALUES)  # fmt: skip
    kw = {k: p[k] for k in PARAMS["pitch_nccf"]}
    return nccf_pitch(x, rate, **kw, chunk_values=limits.FEAT_NCCF_CHUNK_VALUES)


def check_request(feature: str, params: dict | None, *, sample_rate: int, channels: int, frames: int) -> dict:
    """Resolved params for audio of this rate, channel count and length (from a file's header,
    before decoding it): the checks :func:`compute` makes, without any work."""
    feature = check_feature(feature)
    target = (params or {}).get("sample_rate")
    target = None if _none(target) else int(_choice("sample_rate", _as_int(target), limits.RESAMPLE_TARGETS))
    samples = _resampled_length(analysed_frames(sample_rate, frames, channels), sample_rate, target)
    return resolve_params(feature, params, sample_rate=target or sample_rate, channels=channels, samples=samples)


def compute(waveform: torch.Tensor, sample_rate: int, feature: str, params: dict | None = None) -> FeatureResult:
    """Compute ``feature`` of ``(channel, time)`` float32 audio; params checked before any work.

    The audio is cut to ``FEAT_MAX_DURATION_S`` and resampled to ``params["sample_rate"]`` if
    set (notes say so). Returns a :class:`FeatureResult` whose tensor is on the CPU.
    """
    aio.validate_waveform(waveform, sample_rate)
    feature = check_feature(feature)
    channels, frames = waveform.shape
    p = check_request(feature, params, sample_rate=sample_rate, channels=channels, frames=frames)
    notes: list[str] = []
    start = time.perf_counter()
    x, rate = prepare(waveform, sample_rate, p["sample_rate"], notes)
    extra: dict = {}
    with torch.no_grad():
        out = _run(feature, x, p, rate, extra, notes).cpu()
    keep = analysed_frames(sample_rate, frames, channels)
    return FeatureResult(
        feature, out, rate, p, x, sample_rate, keep, keep < frames, notes, extra,
        time.perf_counter() - start, str(cache.default_device()),
    )  # fmt: skip


# --- results as files and numbers ----------------------------------------------------------------


def _stats(t: torch.Tensor) -> dict:
    values = t.abs() if t.is_complex() else t.to(torch.float64)
    finite = values[torch.isfinite(values)]
    if finite.numel() == 0:
        return {"min": None, "max": None, "mean": None}
    return {"min": float(finite.min()), "max": float(finite.max()), "mean": float(finite.mean())}


def summary(result: FeatureResult) -> dict:
    """Shape, dims, dtype, min/max/mean (of finite values; magnitudes if complex), params and notes."""
    t = result.tensor
    out = {
        "feature": result.name,
        "shape": list(t.shape),
        "dims": result.dims,
        "dtype": str(t.dtype).replace("torch.", ""),
    }
    out |= _stats(t) | {"stats_of": "magnitude" if t.is_complex() else "finite values"}
    out |= {"sample_rate": result.sample_rate, "channels": result.waveform.shape[0]}
    out |= {"duration_s": round(result.waveform.shape[-1] / result.sample_rate, 4), "device": result.device}
    out |= {"seconds": round(result.seconds, 4), "params": result.params, "notes": result.notes}
    if result.name == "loudness":
        out["lkfs_per_channel"] = [float(v) for v in t]
        out["integrated_lkfs"] = result.extra.get("integrated_lkfs")
    if result.name == "pitch_nccf":
        f0 = t[..., 1]
        out["voiced_fraction"] = [round(float((~row.isnan()).float().mean()), 4) for row in f0]
        out["median_f0_hz"] = [None if row.isnan().all() else round(float(row.nanmedian()), 3) for row in f0]
    if result.name == "pitch_detect":
        out["median_f0_hz"] = [round(float(row.median()), 3) for row in t]
    return out


def to_npy(result: FeatureResult) -> bytes:
    """The feature as ``.npy`` bytes (complex64 for a complex spectrogram)."""
    buf = io.BytesIO()
    np.save(buf, result.tensor.numpy())
    return buf.getvalue()


def to_pt(result: FeatureResult) -> bytes:
    """``torch.save`` bytes of ``{"feature", "name", "dims", "params", "sample_rate", ...}``
    (loads with ``torch.load(path, weights_only=True)``)."""
    data = {
        "feature": result.tensor.contiguous(),
        "name": result.name,
        "dims": result.dims,
        "params": result.params,
        "sample_rate": result.sample_rate,
        "torchaudio_version": torchaudio.__version__,
    }
    buf = io.BytesIO()
    torch.save(data, buf)
    return buf.getvalue()
