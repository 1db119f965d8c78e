"""Compare two clips, A (the reference) and B: metrics, loudness and the difference spectrogram.

:func:`compare` puts B on A's sample rate (the shared ``io.resample``), optionally matches its
loudness to A's (ITU-R BS.1770), aligns the two ("time": sample by sample over the overlap;
"content": B's time axis scaled by the duration ratio, on the STFT grid) and measures B against
A: SNR, SI-SDR, log-spectral distance (:mod:`audiolab.core.metrics`) and the
difference spectrogram, B minus A in dB, on one STFT grid. :func:`difference_layer` gives that
difference with its axes for the interactive timeline.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import torch
import torchaudio.transforms as T

from audiolab.core import cache, limits, metrics
from audiolab.core import io as aio
from audiolab.core.errors import AudioLabError, Note

ALIGNS = limits.CMP_ALIGNS
AMIN = metrics.LSD_FLOOR  # power floor of the dB spectrograms (T.AmplitudeToDB's default): LSD reads off them


@dataclass
class Comparison:
    """Two clips compared; waveforms ``(channel, time)`` at ``sample_rate`` (A's), on the CPU."""

    sample_rate: int
    a: torch.Tensor  # A as compared (time alignment: the overlap)
    b: torch.Tensor  # B as compared: at A's rate, with ``b_gain_db`` applied (time alignment: the overlap)
    difference_db: torch.Tensor  # (channel, freq, frames) B minus A in dB, on A's STFT frames
    align: str
    time_scale: float  # B's duration over A's (content alignment; 1.0 for time alignment)
    b_gain_db: float  # gain applied to B (match_loudness), else 0.0
    metrics: dict
    notes: list[str] = field(default_factory=list)

    def report(self) -> dict:
        """JSON-ready: notes first, then the figures (finite numbers or ``None``)."""
        return {"notes": [str(n) for n in self.notes], **self.metrics}


@dataclass
class DifferenceLayer:
    """The difference spectrogram as a timeline layer: ``values_db`` ``(channel, freq, time)`` float32,
    B minus A (dB; 0 where equal). Column ``j`` is centred at ``j * seconds_per_column`` s on A's axis
    (B's time is that times ``time_scale``); row ``k`` is ``k * hz_per_row`` Hz. ``limit_db`` is a
    symmetric colour range for a diverging colormap (the 99th percentile of ``|values_db|``, at least 1 dB)."""

    values_db: np.ndarray
    seconds_per_column: float
    hz_per_row: float
    limit_db: float
    time_scale: float = 1.0

    def times_s(self) -> np.ndarray:
        """Centre of each column in seconds (A's axis): ``(time,)``."""
        return np.arange(self.values_db.shape[-1]) * self.seconds_per_column

    def freqs_hz(self) -> np.ndarray:
        """Frequency of each row in Hz: ``(freq,)``."""
        return np.arange(self.values_db.shape[-2]) * self.hz_per_row

    def axes(self) -> dict:
        """The axes and colour range as plain numbers (JSON)."""
        channels, bins, frames = self.values_db.shape
        return {"channels": channels, "bins": bins, "frames": frames, "seconds_per_column": self.seconds_per_column,
                "hz_per_row": self.hz_per_row, "limit_db": self.limit_db, "time_scale": self.time_scale}  # fmt: skip


# --- checks ----------------------------------------------------------------------------------


def _check_clip(name: str, waveform: torch.Tensor, sample_rate: int) -> None:
    if isinstance(waveform, torch.Tensor) and waveform.ndim == 2 and waveform.shape[-1] == 0:
        raise AudioLabError(f"Clip {name} is empty (no samples).", zh=f"音频 {name} 为空（没有采样点）。")
    aio.validate_waveform(waveform, sample_rate)


def _check_inputs(a: torch.Tensor, rate_a: int, b: torch.Tensor, rate_b: int, align: object) -> str:
    if align not in ALIGNS:
        raise AudioLabError(
            f"Invalid align: {align!r}. Please choose one of: {', '.join(ALIGNS)}.",
            zh=f"无效的对齐方式：{align!r}。请选择：{', '.join(ALIGNS)}。",
        )
    _check_clip("A", a, rate_a)
    _check_clip("B", b, rate_b)
    if a.shape[0] != b.shape[0]:
        raise AudioLabError(
            f"A has {a.shape[0]} channel(s) and B has {b.shape[0]}: compare clips with the same channel count "
            "(e.g. export both as mono).",
            zh=f"A 有 {a.shape[0]} 个声道，B 有 {b.shape[0]} 个：请比较声道数相同的音频（例如都导出为单声道）。",
        )
    return str(align)


def _check_length(name: str, samples: int, sample_rate: int) -> None:
    n_fft = limits.CMP_N_FFT
    if samples < n_fft:
        ms = 1000 * n_fft / sample_rate
        raise AudioLabError(
            f"Clip {name} has {samples} sample(s) to compare: too short for the comparison's STFT "
            f"(n_fft={n_fft}); it needs at least {n_fft} samples ({ms:.0f} ms at {sample_rate} Hz).",
            zh=f"音频 {name} 只有 {samples} 个采样点可比较：对比较所用的 STFT（n_fft={n_fft}）来说太短；"
            f"至少需要 {n_fft} 个采样点（{sample_rate} Hz 下 {ms:.0f} 毫秒）。",
        )


# --- pieces ----------------------------------------------------------------------------------


def power_spectrogram(waveform: torch.Tensor) -> torch.Tensor:
    """``T.Spectrogram(n_fft=CMP_N_FFT, hop_length=CMP_HOP_LENGTH, power=2)``: ``(channel, freq, frames)`` on CPU."""
    n_fft, hop = limits.CMP_N_FFT, limits.CMP_HOP_LENGTH
    module = cache.transform("Spectrogram", (n_fft, n_fft, hop, 2.0),
                             lambda: T.Spectrogram(n_fft=n_fft, hop_length=hop, power=2.0))  # fmt: skip
    with torch.no_grad():
        return module(waveform.to(module.window.device)).cpu()


def to_db(power: torch.Tensor) -> torch.Tensor:
    """``T.AmplitudeToDB(stype="power", top_db=None)``: ``10 log10(max(power, 1e-10))``."""
    return T.AmplitudeToDB(stype="power", top_db=None)(power)


def stretch_frames(power: torch.Tensor, frames: int) -> torch.Tensor:
    """``(channel, freq, n)`` resampled along time to ``frames`` columns (linear, ends kept)."""
    if power.shape[-1] == frames:
        return power
    return torch.nn.functional.interpolate(power, size=frames, mode="linear", align_corners=True)


def _loudness_gain(loud_a: float | None, loud_b: float | None, notes: list) -> float:
    """Gain (dB) that brings B's integrated loudness to A's; 0 with a note where either has none."""
    if loud_a is None or loud_b is None:
        notes.append(Note(
            "Loudness was not matched: a clip has no BS.1770 loudness (silent, under 0.4 s or over 5 channels).",
            zh="未匹配响度：有音频没有 BS.1770 响度（静音、短于 0.4 秒或超过 5 个声道）。",
        ))  # fmt: skip
        return 0.0
    return loud_a - loud_b


def _clip_info(waveform: torch.Tensor, sample_rate: int, loudness: float | None) -> dict:
    return {"duration_s": waveform.shape[-1] / sample_rate, "sample_rate": sample_rate,
            "channels": waveform.shape[0], "samples": waveform.shape[-1], "loudness_lufs": loudness}  # fmt: skip


def _time_overlap(a: torch.Tensor, b: torch.Tensor, rate: int, notes: list) -> tuple[torch.Tensor, torch.Tensor]:
    n = min(a.shape[-1], b.shape[-1])
    if a.shape[-1] != b.shape[-1]:
        sa, sb, sn = a.shape[-1] / rate, b.shape[-1] / rate, n / rate
        notes.append(Note(
            f"A is {sa:.3f} s and B is {sb:.3f} s at {rate} Hz: the overlap (the first {sn:.3f} s, {n} samples) "
            "is compared; nothing is padded. Use align=content for a time-stretched B.",
            zh=f"A 长 {sa:.3f} 秒，B 长 {sb:.3f} 秒（{rate} Hz）：比较的是重叠部分（前 {sn:.3f} 秒，{n} 个采样点），"
            "不做填充。若 B 经过时间伸缩，请用 align=content。",
        ))  # fmt: skip
    return a[:, :n], b[:, :n]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


# --- the comparison --------------------------------------------------------------------------


def compare(
    a: torch.Tensor, rate_a: int, b: torch.Tensor, rate_b: int, *, align: str = "time", match_loudness: bool = False
) -> Comparison:
    """Measure B against A (the reference); both float32 ``(channel, time)`` with the same channel count.

    ``align="time"``: B at A's rate, sample by sample over the overlap (SNR, SI-SDR, LSD, spectral
    convergence, difference). ``align="content"``: B's STFT frames are stretched onto A's (B's time
    axis scaled by ``time_scale`` = B's duration / A's); only the spectral figures are given (the
    samples no longer line up). ``match_loudness`` scales B to A's integrated loudness first and
    reports the gain. Loudness (LUFS) is measured on each clip as given.
    """
    align = _check_inputs(a, rate_a, b, rate_b, align)
    notes: list = []
    loud_a, loud_b = metrics.integrated_loudness(a, rate_a), metrics.integrated_loudness(b, rate_b)
    rate = rate_a
    if rate_b != rate_a:
        notes.append(Note(f"B ({rate_b} Hz) was resampled to A's rate ({rate_a} Hz) before comparing.",
                          zh=f"比较前已将 B（{rate_b} Hz）重采样到 A 的采样率（{rate_a} Hz）。"))  # fmt: skip
    b_at_rate = aio.resample(b, rate_b, rate_a, notes)
    gain_db = _loudness_gain(loud_a, loud_b, notes) if match_loudness else 0.0
    if gain_db:
        b_at_rate = b_at_rate * 10 ** (gain_db / 20)
    time_scale = 1.0
    if align == "time":
        a_cmp, b_cmp = _time_overlap(a, b_at_rate, rate, notes)
    else:
        a_cmp, b_cmp = a, b_at_rate
        time_scale = b_at_rate.shape[-1] / a.shape[-1]
    _check_length("A", a_cmp.shape[-1], rate)
    _check_length("B", b_cmp.shape[-1], rate)
    power_a = power_spectrogram(a_cmp)
    power_b = stretch_frames(power_spectrogram(b_cmp), power_a.shape[-1])
    difference = to_db(power_b) - to_db(power_a)
    figures = _figures(a_cmp, b_cmp, difference, align, notes)
    peak = float(b_cmp.abs().amax())
    if peak > 1.0:
        notes.append(Note(f"B's peak after the gain is {peak:.3f}, above full scale: a player would clip it.",
                          zh=f"增益后 B 的峰值为 {peak:.3f}，超过满刻度：播放时会削波。"))  # fmt: skip
    table = {
        "align": align,
        "a": {k: _rounded(v) if isinstance(v, float) else v for k, v in _clip_info(a, rate_a, loud_a).items()},
        "b": {k: _rounded(v) if isinstance(v, float) else v for k, v in _clip_info(b, rate_b, loud_b).items()},
        "loudness_difference_db": _rounded(loud_b - loud_a) if loud_a is not None and loud_b is not None else None,
        "match_loudness": bool(match_loudness),
        "b_gain_db": _rounded(gain_db),
        "time_scale": round(time_scale, 6),
        "compared": {
            "sample_rate": rate,
            "samples_a": a_cmp.shape[-1],
            "samples_b": b_cmp.shape[-1],
            "seconds": round(a_cmp.shape[-1] / rate, 4),
        },
        **{k: _rounded(v) for k, v in figures.items()},
        "stft": {"n_fft": limits.CMP_N_FFT, "hop_length": limits.CMP_HOP_LENGTH, "window": "hann"},
    }
    comparison = Comparison(rate, a_cmp, b_cmp, difference, align, time_scale, gain_db, table, notes)
    table["difference_db"] = {**difference_layer(comparison).axes(),
                              "max_abs": _rounded(float(difference.abs().max()))}  # fmt: skip
    return comparison


def _figures(a: torch.Tensor, b: torch.Tensor, difference_db: torch.Tensor, align: str, notes: list) -> dict:
    """SNR and SI-SDR (time alignment only) and the log-spectral distance (from the difference), in dB."""
    figures: dict = {"snr_db": None, "si_sdr_db": None}
    if align == "time":
        figures = {"snr_db": metrics.snr_db(a, b), "si_sdr_db": metrics.si_sdr_db(a, b)}
        if torch.equal(a, b):
            notes.append(Note(
                f"B equals A sample for sample: SNR and SI-SDR are infinite, shown as {metrics.DB_CAP:g} dB (the cap).",
                zh=f"B 与 A 逐点相同：SNR 与 SI-SDR 为无穷大，显示为上限 {metrics.DB_CAP:g} dB。",
            ))  # fmt: skip
    else:
        notes.append(Note(
            "With align=content the samples no longer line up: SNR and SI-SDR are not given (null); "
            "the spectral figures compare B's stretched spectrogram with A's.",
            zh="align=content 时采样点不再对齐：不给出 SNR 与 SI-SDR（null）；频谱指标比较的是伸缩后的 B 与 A 的频谱。",
        ))  # fmt: skip
    figures["lsd_db"] = metrics.log_spectral_distance_from_db(difference_db)
    return figures


def difference_layer(comparison: Comparison) -> DifferenceLayer:
    """The difference spectrogram with its axes, for the timeline's difference layer."""
    values = comparison.difference_db.numpy().astype(np.float32, copy=False)
    limit = float(np.percentile(np.abs(values), 99)) if values.size else 0.0
    return DifferenceLayer(
        values_db=values,
        seconds_per_column=limits.CMP_HOP_LENGTH / comparison.sample_rate,
        hz_per_row=comparison.sample_rate / limits.CMP_N_FFT,
        limit_db=round(max(limit, 1.0), 4),
        time_scale=comparison.time_scale,
    )


def to_npy(comparison: Comparison) -> bytes:
    """The difference spectrogram ``(channel, freq, frames)`` float32, B minus A in dB, as ``.npy`` bytes."""
    buf = io.BytesIO()
    np.save(buf, comparison.difference_db.numpy().astype(np.float32, copy=False))
    return buf.getvalue()
