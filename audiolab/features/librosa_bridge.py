"""The librosa bridge: the Features tab's result next to librosa's equivalent of the same settings.

"Why does torchaudio give different numbers than librosa?" Mostly conventions: centre padding and
``pad_mode``, magnitude vs power, HTK vs Slaney mel scale and filter norm, the dB reference and
``top_db``, the DCT type and norm, and how many frames come out. :func:`compare` computes the
librosa version of a :class:`~audiolab.features.compute.FeatureResult` with each of those
conventions matched to torchaudio's, and reports the largest differences, a table of the
conventions, and the librosa code. Pitch trackers are different algorithms (torchaudio's NCCF
``detect_pitch_frequency``, our NCCF tracker, librosa's YIN): they are shown side by side, not
made equal.

librosa (and numba, which compiles on first call) is imported inside the functions only, so
the app's start-up does not pay for it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from audiolab.core import plots
from audiolab.core.errors import AudioLabError, Note
from audiolab.features.compute import FeatureResult

SUPPORTED = ("spectrogram", "mel_spectrogram", "mfcc", "spectral_centroid", "deltas", "pitch_detect", "pitch_nccf")
PITCH = ("pitch_detect", "pitch_nccf")
PAD_MODES = {"reflect": "reflect", "constant": "constant", "replicate": "edge", "circular": "wrap"}  # torch -> numpy
DELTA_MODES = {"replicate": "nearest", "constant": "constant", "reflect": "mirror", "circular": "wrap"}  # -> scipy
MFCC_TOP_DB = 80.0  # T.MFCC's AmplitudeToDB("power", top_db=80)
LOG_OFFSET = 1e-6  # T.MFCC(log_mels=True): log(mel + 1e-6)


@dataclass
class Comparison:
    """torchaudio's and librosa's numbers for one request, and how they differ."""

    feature: str
    torchaudio: np.ndarray  # the app's tensor, (channel, ...)
    librosa: np.ndarray  # librosa's, same shape (pitch: librosa's frames resampled to torchaudio's times)
    conventions: list[tuple[str, str, str]]  # (convention, torchaudio, librosa as the app called it)
    code: str  # the librosa code of these settings
    comparable: bool = True  # False: different algorithms (pitch), the numbers are shown, not matched
    notes: list[str] = field(default_factory=list)
    librosa_seconds: float = 0.0  # includes numba's compile time on the first call in a process

    @property
    def difference(self) -> np.ndarray:
        """``librosa - torchaudio`` (magnitudes for complex spectrograms); NaN where either is undefined."""
        return (
            np.abs(self.librosa) - np.abs(self.torchaudio)
            if np.iscomplexobj(self.torchaudio)
            else (self.librosa - self.torchaudio)
        )

    def stats(self) -> dict:
        """Max absolute and relative difference (relative to torchaudio's largest value), over defined values."""
        diff = np.abs(self.librosa - self.torchaudio)
        ok = np.isfinite(diff)
        scale = float(np.nanmax(np.abs(self.torchaudio[ok]))) if ok.any() else 0.0
        max_abs = float(diff[ok].max()) if ok.any() else math.nan
        return {
            "feature": self.feature,
            "comparable": self.comparable,
            "max_abs_difference": max_abs,
            "max_rel_difference": max_abs / scale if scale > 0 else math.nan,
            "mean_abs_difference": float(diff[ok].mean()) if ok.any() else math.nan,
            "values_compared": int(ok.sum()),
            "shape": list(self.torchaudio.shape),
            "librosa_seconds": round(self.librosa_seconds, 4),
            "conventions": [list(row) for row in self.conventions],
            "notes": self.notes,
        }


# --- conventions --------------------------------------------------------------------------------


def _stft_kwargs(p: dict) -> dict:
    """``librosa.stft`` arguments equal to torchaudio's ``T.Spectrogram`` settings (hann window, periodic)."""
    return {"n_fft": p["n_fft"], "hop_length": p["hop_length"], "win_length": p["win_length"], "window": "hann",
            "center": p["center"], "pad_mode": PAD_MODES[p["pad_mode"]]}  # fmt: skip


def _stft_conventions(p: dict) -> list[tuple[str, str, str]]:
    rows = [
        ("centre padding", f"center={p['center']}", f"center={p['center']} (the same frames)"),
        ("pad_mode", f"pad_mode={p['pad_mode']!r} (default 'reflect')",
         f"pad_mode={PAD_MODES[p['pad_mode']]!r} (librosa's default is 'constant')"),
        ("window", "torch.hann_window (periodic)", "'hann' (scipy get_window, periodic): equal"),
        ("frames", "1 + len // hop_length (centred)", "the same with the same center"),
    ]  # fmt: skip
    if p.get("normalized"):
        rows.append(("normalized", "normalized=True: STFT / sqrt(sum(window**2))", "divided by the same in numpy"))
    power = p.get("power")
    kind = {None: "complex STFT", 1.0: "magnitude |X|", 2.0: "power |X|**2"}.get(power, f"|X|**{power}")
    rows.append(("magnitude vs power", f"power={power} ({kind})", f"np.abs(stft) ** {power}" if power else "stft"))
    return rows


def _mel_conventions(p: dict) -> list[tuple[str, str, str]]:
    htk = p["mel_scale"] == "htk"
    return [
        ("mel scale", f"mel_scale={p['mel_scale']!r} (default 'htk')", f"htk={htk} (librosa's default is Slaney)"),
        ("filter norm", f"norm={p['mel_norm']!r} (default None)",
         f"norm={p['mel_norm']!r} (librosa's default is 'slaney': area-normalised filters)"),
        ("f_max", f"f_max={p['f_max']} (None = sample_rate / 2)", "fmax: the same value"),
    ]  # fmt: skip


def _db_convention(p: dict) -> list[tuple[str, str, str]]:
    if not p.get("db") or p.get("power") is None:
        return []
    fn = "power_to_db" if p["power"] == 2.0 else "amplitude_to_db" if p["power"] == 1.0 else "numpy formula"
    return [("dB", f"AmplitudeToDB: ref 1, amin 1e-10, top_db={p['top_db']} per channel",
             f"{fn}(ref=1.0, amin=1e-10, top_db={p['top_db']}) per channel (librosa's default amin is 1e-10 "
             "for power, 1e-5 for amplitude)")]  # fmt: skip


# --- librosa computations ---------------------------------------------------------------------


def _spectrogram(y: np.ndarray, p: dict) -> np.ndarray:
    import librosa

    stft = librosa.stft(y, **_stft_kwargs(p))
    if p.get("normalized"):
        window = librosa.filters.get_window("hann", p["win_length"], fftbins=True)
        stft = stft / np.sqrt(np.sum(window**2))
    return stft if p.get("power") is None else np.abs(stft) ** p["power"]


def _to_db(x: np.ndarray, p: dict) -> np.ndarray:
    import librosa

    if not p.get("db") or p.get("power") is None:
        return x
    if p["power"] == 2.0:
        return librosa.power_to_db(x, ref=1.0, amin=1e-10, top_db=p["top_db"])
    if p["power"] == 1.0:
        return librosa.amplitude_to_db(x, ref=1.0, amin=1e-10, top_db=p["top_db"])
    db = 20.0 / p["power"] * np.log10(np.maximum(x, 1e-10))
    return db if p["top_db"] is None else np.maximum(db, db.max() - p["top_db"])


def _mel(y: np.ndarray, p: dict, rate: int, power: float) -> np.ndarray:
    import librosa

    spec = _spectrogram(y, {**p, "power": power})
    return librosa.feature.melspectrogram(S=spec, sr=rate, n_fft=p["n_fft"], n_mels=p["n_mels"], fmin=p["f_min"],
                                          fmax=p["f_max"] or rate / 2, htk=p["mel_scale"] == "htk",
                                          norm=p["mel_norm"])  # fmt: skip


def _mfcc(y: np.ndarray, p: dict, rate: int) -> np.ndarray:
    import librosa

    mel = _mel(y, p, rate, 2.0)
    if p["log_mels"]:
        logmel = np.log(mel + LOG_OFFSET)
    else:
        logmel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=MFCC_TOP_DB)
    return librosa.feature.mfcc(S=logmel, n_mfcc=p["n_mfcc"], dct_type=2, norm=p["dct_norm"])


def _centroid(y: np.ndarray, p: dict, rate: int) -> np.ndarray:
    import librosa

    out = librosa.feature.spectral_centroid(y=y, sr=rate, n_fft=p["n_fft"], hop_length=p["hop_length"],
                                            win_length=p["win_length"], center=True, pad_mode="reflect")  # fmt: skip
    return out[0]


def _deltas(y: np.ndarray, p: dict, rate: int) -> np.ndarray:
    import librosa

    base = librosa_feature(p["base"], y, p, rate)
    kw = {"width": p["delta_win_length"], "order": 1, "axis": -1, "mode": DELTA_MODES[p["delta_mode"]]}
    delta = librosa.feature.delta(base, **kw)
    return np.stack([delta] if p["delta_order"] == 1 else [delta, librosa.feature.delta(delta, **kw)])


def librosa_feature(name: str, y: np.ndarray, p: dict, rate: int) -> np.ndarray:
    """librosa's version of feature ``name`` for one channel ``y`` (1-D float32), torchaudio's conventions."""
    if name == "spectrogram":
        return _to_db(_spectrogram(y, p), p)
    if name == "mel_spectrogram":
        return _to_db(_mel(y, p, rate, p["power"]), p)
    if name == "mfcc":
        return _mfcc(y, p, rate)
    if name == "spectral_centroid":
        return _centroid(y, p, rate)
    if name == "deltas":
        return _deltas(y, p, rate)
    raise AudioLabError(f"{name} has no librosa equivalent here.", zh=f"{name} 在这里没有对应的 librosa 计算。")


def yin_f0(y: np.ndarray, rate: int, fmin: float, fmax: float, hop: int) -> np.ndarray:
    """librosa's YIN f0 (Hz) per frame: a different tracker, for comparison only."""
    import librosa

    frame_length = 1 << max(11, math.ceil(math.log2(2.5 * rate / fmin)))  # room for two periods of fmin
    return librosa.yin(y, fmin=fmin, fmax=min(fmax, rate / 2), sr=rate, frame_length=frame_length,
                       hop_length=hop, center=True)  # fmt: skip


# --- pitch ------------------------------------------------------------------------------------


def _pitch_setup(result: FeatureResult) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """torchaudio's f0 ``(channel, frame)``, its frame times (s), the f0 range and the hop for YIN."""
    p, rate, t = result.params, result.sample_rate, result.tensor.numpy()
    if result.name == "pitch_detect":
        f0 = t
        hop = max(1, int(p["frame_time"] * rate))
        fmin, fmax = float(p["freq_low"]), float(p["freq_high"])
    else:
        f0 = t[..., 1]
        hop = max(1, int(p["frame_shift_ms"] * rate / 1000))
        fmin, fmax = float(p["min_f0"]), float(p["max_f0"])
    duration = result.waveform.shape[-1] / rate
    times = (np.arange(f0.shape[-1]) + 0.5) * duration / max(f0.shape[-1], 1)
    return f0, times, fmin, fmax, hop


def _compare_pitch(result: FeatureResult) -> tuple[np.ndarray, np.ndarray, list[str]]:
    f0, times, fmin, fmax, hop = _pitch_setup(result)
    rate, y = result.sample_rate, result.waveform.numpy()
    out = []
    for channel in y:
        yin = yin_f0(channel, rate, fmin, fmax, hop)
        out.append(np.interp(times, np.arange(len(yin)) * hop / rate, yin))
    ours = np.where(f0 > 0, f0, np.nan)
    medians = []
    for c, (a, b) in enumerate(zip(ours, out, strict=True)):
        ta, yin = np.nanmedian(a), np.nanmedian(b)
        medians.append(Note(f"channel {c}: torchaudio median {ta:.1f} Hz, librosa YIN median {yin:.1f} Hz",
                            zh=f"声道 {c}：torchaudio 中位数 {ta:.1f} Hz，YIN 中位数 {yin:.1f} Hz"))  # fmt: skip
    return ours.astype(np.float32), np.asarray(out, dtype=np.float32), medians


# --- the comparison ---------------------------------------------------------------------------


def check_supported(feature: str) -> None:
    """Refuse features without a librosa counterpart, naming those that have one."""
    if feature not in SUPPORTED:
        names = ", ".join(SUPPORTED)
        raise AudioLabError(f"Compare with librosa works for {names}; not for {feature}.",
                            zh=f"与 librosa 对比仅支持 {names}；不支持 {feature}。")  # fmt: skip


def conventions(result: FeatureResult) -> list[tuple[str, str, str]]:
    """The table of conventions for ``result``'s feature and settings."""
    name, p = result.name, result.params
    if name in PITCH:
        return [("algorithm", "detect_pitch_frequency: NCCF + median smoothing" if name == "pitch_detect"
                 else "our NCCF tracker (see the code panel)", "librosa.yin: a different algorithm (not matched)"),
                ("frames", "its own frame grid", "YIN frames resampled to torchaudio's frame times")]  # fmt: skip
    base = p["base"] if name == "deltas" else name
    if name == "spectral_centroid":  # T.SpectralCentroid: always centred with reflect padding, magnitude
        p = {**p, "center": True, "pad_mode": "reflect"}
    rows = _stft_conventions({**p, "power": 2.0 if base == "mfcc" else p.get("power", 1.0)})
    if base in ("mel_spectrogram", "mfcc"):
        rows += _mel_conventions(p)
    if base in ("spectrogram", "mel_spectrogram"):
        rows += _db_convention(p)
    if base == "mfcc":
        log = f"log(mel + {LOG_OFFSET:g})" if p["log_mels"] else f"power_to_db(mel, top_db={MFCC_TOP_DB:g})"
        rows += [("log of the mels", f"log_mels={p['log_mels']}: {log}", f"{log} by hand, then mfcc(S=...)"),
                 ("DCT", f"type 2, norm={p['dct_norm']!r}", f"dct_type=2, norm={p['dct_norm']!r}")]  # fmt: skip
    if name == "spectral_centroid":
        rows = [r for r in rows if r[0] != "magnitude vs power"]
        rows.append(("silent frames", "NaN (0 / 0)", "0 (normalise leaves them): compared where both are defined"))
    if name == "deltas":
        rows.append(("deltas", f"compute_deltas(win_length={p['delta_win_length']}, mode={p['delta_mode']!r})",
                     f"delta(width={p['delta_win_length']}, mode={DELTA_MODES[p['delta_mode']]!r})"))  # fmt: skip
        if p["delta_order"] == 2:
            rows.append(("delta-deltas", "compute_deltas applied twice",
                         "delta(delta(x)); librosa's order=2 fits a parabola instead (other numbers)"))  # fmt: skip
    return rows


def compare(result: FeatureResult) -> Comparison:
    """librosa's equivalent of ``result`` with torchaudio's conventions, channel by channel."""
    check_supported(result.name)
    if result.name == "deltas" and result.params["base"] not in ("spectrogram", "mel_spectrogram", "mfcc"):
        raise AudioLabError("librosa has no LFCC: compare deltas of an MFCC or (mel) spectrogram.",
                            zh="librosa 没有 LFCC：请对 MFCC 或（梅尔）频谱的差分进行对比。")  # fmt: skip
    start = time.perf_counter()
    notes: list[str] = []
    if result.name in PITCH:
        ours, theirs, notes = _compare_pitch(result)
    else:
        y = result.waveform.numpy().astype(np.float32)
        theirs = np.stack([librosa_feature(result.name, ch, result.params, result.sample_rate) for ch in y])
        ours = result.tensor.numpy()
        if result.name == "spectral_centroid":
            theirs = np.where(np.isnan(ours), np.nan, theirs)
    seconds = time.perf_counter() - start
    if theirs.shape != ours.shape:
        raise AudioLabError(f"librosa gave shape {theirs.shape}, torchaudio {ours.shape}.",
                            zh=f"librosa 的形状为 {theirs.shape}，torchaudio 为 {ours.shape}。")  # fmt: skip
    return Comparison(result.name, ours, theirs.astype(ours.dtype), conventions(result), librosa_code(result),
                      comparable=result.name not in PITCH, notes=notes, librosa_seconds=seconds)  # fmt: skip


# --- code ---------------------------------------------------------------------------------------


def _kw(d: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in d.items())


def _feature_code(name: str, p: dict, rate: int) -> list[str]:
    if name == "spectral_centroid":
        kw = _kw({"n_fft": p["n_fft"], "hop_length": p["hop_length"], "win_length": p["win_length"]})
        return [f"feature = librosa.feature.spectral_centroid(y=y, sr={rate}, {kw}, center=True, "
                "pad_mode='reflect')[0]"]  # fmt: skip
    power = 2.0 if name == "mfcc" else p["power"]
    lines = [f"S = librosa.stft(y, {_kw(_stft_kwargs(p))})"]
    if p.get("normalized"):
        lines.append(f"S = S / np.sqrt(np.sum(librosa.filters.get_window('hann', {p['win_length']}) ** 2))")
    lines.append(f"S = np.abs(S) ** {power}" if power else "feature = S  # complex")
    if name == "spectrogram":
        return [*lines, "feature = S", *_db_code(p)]
    mel = _kw({"sr": rate, "n_fft": p["n_fft"], "n_mels": p["n_mels"], "fmin": p["f_min"],
               "fmax": p["f_max"] or rate / 2, "htk": p["mel_scale"] == "htk", "norm": p["mel_norm"]})  # fmt: skip
    lines.append(f"mel = librosa.feature.melspectrogram(S=S, {mel})")
    if name == "mel_spectrogram":
        return [*lines, "feature = mel", *_db_code(p)]
    log = (
        f"np.log(mel + {LOG_OFFSET})"
        if p["log_mels"]
        else f"librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db={MFCC_TOP_DB})"
    )
    return [
        *lines,
        f"feature = librosa.feature.mfcc(S={log}, n_mfcc={p['n_mfcc']}, dct_type=2, norm={p['dct_norm']!r})",
    ]


def _db_code(p: dict) -> list[str]:
    if not p.get("db") or p.get("power") is None:
        return []
    if p["power"] == 2.0:
        return [f"feature = librosa.power_to_db(feature, ref=1.0, amin=1e-10, top_db={p['top_db']!r})"]
    if p["power"] == 1.0:
        return [f"feature = librosa.amplitude_to_db(feature, ref=1.0, amin=1e-10, top_db={p['top_db']!r})"]
    return [f"feature = 20 / {p['power']!r} * np.log10(np.maximum(feature, 1e-10))  # dB of |X|**power",
            *([f"feature = np.maximum(feature, feature.max() - {p['top_db']!r})"] if p["top_db"] else [])]  # fmt: skip


def librosa_code(result: FeatureResult) -> str:
    """librosa code for ``result``'s settings (one channel ``y``); runs as is once the file exists."""
    name, p, rate = result.name, result.params, result.sample_rate
    head = ["import librosa", "import numpy as np", "",
            f"y, sr = librosa.load('input.wav', sr={rate}, mono=False)  # resampling: soxr (librosa), "
            "sinc (torchaudio)",
            "y = np.atleast_2d(y)[0]  # one channel: librosa features take (..., time)"]  # fmt: skip
    if name in PITCH:
        _, _, fmin, fmax, hop = _pitch_setup(result)
        frame = 1 << max(11, math.ceil(math.log2(2.5 * rate / fmin)))
        return "\n".join([*head, f"f0 = librosa.yin(y, fmin={fmin}, fmax={min(fmax, rate / 2)}, sr={rate}, "
                          f"frame_length={frame}, hop_length={hop})  # YIN: another algorithm"]) + "\n"  # fmt: skip
    if name == "deltas":
        body = _feature_code(p["base"], p, rate)
        mode = DELTA_MODES[p["delta_mode"]]
        body += [f"delta = librosa.feature.delta(feature, width={p['delta_win_length']}, order=1, mode={mode!r})"]
        if p["delta_order"] == 2:
            body += [f"delta2 = librosa.feature.delta(delta, width={p['delta_win_length']}, order=1, mode={mode!r})"]
        return "\n".join([*head, *body]) + "\n"
    return "\n".join([*head, *_feature_code(name, p, rate)]) + "\n"


# --- figure -------------------------------------------------------------------------------------


def figure(c: Comparison) -> np.ndarray:
    """Channel 0: torchaudio, librosa and their difference (heatmaps for 2-D features, lines for 1-D)."""
    a, b, d = c.torchaudio[0], c.librosa[0], c.difference[0]
    if np.iscomplexobj(a):
        a, b = np.abs(a), np.abs(b)
    if a.ndim == 3:  # deltas: (order, coeff, time) -> the first order
        a, b, d = a[0], b[0], d[0]
    fig = plots.new_figure(figsize=(10, 7.5), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    if a.ndim == 1:
        axes[0].plot(a, color="#1f77b4", label="torchaudio")
        axes[0].plot(b, color="#d62728", linestyle="--", label="librosa")
        axes[0].legend(loc="upper right")
        axes[1].plot(b - a, color="#444444")
        axes[2].plot(np.abs(b - a), color="#444444")
        titles = ("torchaudio and librosa (channel 0)", "librosa − torchaudio", "|difference|")
    else:
        lo, hi = np.nanmin(a), np.nanmax(a)
        for ax, data, title in ((axes[0], a, "torchaudio (channel 0)"), (axes[1], b, "librosa (channel 0)")):
            fig.colorbar(ax.imshow(data, origin="lower", aspect="auto", vmin=lo, vmax=hi, interpolation="nearest"),
                         ax=ax)  # fmt: skip
            ax.set_title(title)
        span = float(np.nanmax(np.abs(d))) or 1e-12
        fig.colorbar(axes[2].imshow(d, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-span, vmax=span,
                                    interpolation="nearest"), ax=axes[2])  # fmt: skip
        titles = ("torchaudio (channel 0)", "librosa (channel 0)", "librosa − torchaudio")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title)
    axes[-1].set_xlabel("Frame")
    stats = c.stats()
    fig.suptitle(
        f"{c.feature}: max |difference| {stats['max_abs_difference']:.3g} "
        f"(relative {stats['max_rel_difference']:.3g})" + ("" if c.comparable else ", different algorithms")
    )
    return plots.figure_to_rgb(fig)
