"""Griffin-Lim phase reconstruction, the true-phase inverse, and quality metrics.

:func:`griffinlim` is ``torchaudio.functional.griffinlim`` step for step: the same
operations in the same order, so the same waveform for the same initial phase. It adds the
spectral convergence of every iterate, read off the STFT the algorithm computes anyway, and
reuses buffers in place, so recording the curve costs no extra transform and no time.
:func:`reconstruct` runs the whole comparison the Griffin-Lim tab shows.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.core import cache, figdata, limits, plots
from audiolab.core import io as aio
from audiolab.core.deadline import Deadline
from audiolab.core.errors import AudioLabError
from audiolab.core.metrics import (
    DB_CAP,
    amplitude_db,
    log_spectral_distance_db,
    si_sdr_db,
    snr_db,
    spectral_convergence_db,
)

Progress = Callable[[int, int, float], None]
SOURCES = ("linear", "mel")


@dataclass(frozen=True)
class Settings:
    """Validated parameters of one reconstruction (lengths in samples)."""

    source: str = "linear"  # invert the linear spectrogram, or a mel spectrogram via InverseMelScale
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    power: float = 2.0
    n_iter: int = 32
    momentum: float = 0.99
    rand_init: bool = True
    seed: int = 0
    length: int = 0  # output samples (the input's length unless asked otherwise)
    n_mels: int = 80

    @property
    def stft_kwargs(self) -> dict:
        """``n_fft``, ``win_length`` and ``hop_length`` as keyword arguments."""
        return {"n_fft": self.n_fft, "win_length": self.win_length, "hop_length": self.hop_length}


# --- validation -----------------------------------------------------------------------------


def _int(name: str, value: object, lo: float, hi: float) -> int:
    return int(limits.check_number(name, value, lo, hi, integer=True))


def check_stft(n_fft: object, win_length: object = None, hop_length: object = None) -> tuple[int, int, int]:
    """Validated ``(n_fft, win_length, hop_length)``; ``None``/0 give ``n_fft`` and ``win_length // 4``."""
    n_fft = int(limits.check_choice("n_fft", _int("n_fft", n_fft, 1, 2**20), limits.GL_N_FFT_CHOICES))
    win = n_fft if win_length in (None, 0, "") else _int("win_length", win_length, limits.GL_MIN_WIN_LENGTH, n_fft)
    hop = win // 4 if hop_length in (None, 0, "") else _int("hop_length", hop_length, 1, win // 2)
    return n_fft, win, hop


def _check_length(length: object, num_samples: int, hop: int) -> int:
    """Output length: 0/None is the input's; otherwise it must keep the STFT frame count."""
    if length in (None, 0, ""):
        return num_samples
    frames = num_samples // hop + 1
    lo, hi = (frames - 1) * hop, frames * hop - 1
    if not isinstance(length, bool) and isinstance(length, (int, float)) and not lo <= length <= hi:
        raise AudioLabError(
            f"length={length:g} would change the number of STFT frames, which Griffin-Lim cannot do: "
            f"for this clip it must be between {lo} and {hi} samples (0 = the input's {num_samples}).",
            zh=(
                f"length={length:g} 会改变 STFT 帧数，Griffin-Lim 无法做到：对此音频它必须在 {lo} 到 {hi} 个采样点之间"
                f"（0 表示与输入相同，即 {num_samples}）。"
            ),
        )
    return _int("length", length, lo, hi)


def _check_budget(channels: int, num_samples: int, sample_rate: int, s: Settings) -> None:
    """Refuse spectrograms too big to hold and runs too long to wait for."""
    frames = num_samples // s.hop_length + 1
    bins = channels * (s.n_fft // 2 + 1) * frames
    seconds = f"{num_samples / sample_rate:.1f} s x {channels} channel(s)"
    if bins > limits.GL_MAX_SPEC_BINS:
        raise AudioLabError(
            f"The spectrogram of {seconds} with n_fft={s.n_fft}, hop_length={s.hop_length} has {bins:,} bins "
            f"(limit {limits.GL_MAX_SPEC_BINS:,}): use a shorter clip or a larger hop_length.",
            zh=(
                f"{seconds} 在 n_fft={s.n_fft}、hop_length={s.hop_length} 下的频谱有 {bins:,} 个频点（上限 "
                f"{limits.GL_MAX_SPEC_BINS:,}）：请使用更短的音频或更大的 hop_length。"
            ),
        )
    per_iter = channels * frames * s.n_fft
    if s.n_iter * per_iter > limits.GL_MAX_WORK:
        most = max(limits.GL_MAX_WORK // per_iter, 0)
        raise AudioLabError(
            f"n_iter={s.n_iter} is too many for {seconds} with n_fft={s.n_fft}, hop_length={s.hop_length}: "
            f"at most {most} iterations here (n_iter x duration is bounded so a request ends in seconds). "
            "Use fewer iterations, a shorter clip or a larger hop_length.",
            zh=(
                f"对 n_fft={s.n_fft}、hop_length={s.hop_length} 的 {seconds} 来说，n_iter={s.n_iter} 太多：这里最多 "
                f"{most} 次迭代（n_iter x 时长有上限，以便请求在几秒内结束）。请减少迭代次数、使用更短的音频或更大的 h"
                "op_length。"
            ),
        )


def check_settings(waveform: torch.Tensor, sample_rate: int, **params) -> Settings:
    """Validate every parameter of :func:`reconstruct` against ``limits`` before any work."""
    aio.validate_waveform(waveform, sample_rate)
    p = {**asdict(Settings()), **{k: v for k, v in params.items() if v is not None}}
    unknown = set(p) - set(asdict(Settings()))
    if unknown:
        raise TypeError(f"Unknown parameters: {sorted(unknown)}")
    n_fft, win, hop = check_stft(p["n_fft"], params.get("win_length"), params.get("hop_length"))
    num_samples = waveform.shape[-1]
    if num_samples <= n_fft // 2:
        raise AudioLabError(
            f"The clip has {num_samples} samples: too short for n_fft={n_fft} (needs > {n_fft // 2}).",
            zh=f"音频只有 {num_samples} 个采样点：对 n_fft={n_fft} 来说太短（需要多于 {n_fft // 2} 个）。",
        )
    s = Settings(
        source=str(limits.check_choice("source", p["source"], SOURCES)),
        n_fft=n_fft, win_length=win, hop_length=hop,
        power=limits.check_number("power", p["power"], *limits.GL_POWER_RANGE),
        n_iter=_int("n_iter", p["n_iter"], *limits.GL_N_ITER_RANGE),
        momentum=limits.check_number("momentum", p["momentum"], *limits.GL_MOMENTUM_RANGE),
        rand_init=bool(limits.check_choice("rand_init", p["rand_init"], (True, False))),
        seed=_int("seed", p["seed"], *limits.GL_SEED_RANGE),
        length=_check_length(p["length"], num_samples, hop),
        n_mels=_int("n_mels", p["n_mels"], *limits.GL_N_MELS_RANGE),
    )  # fmt: skip
    _check_budget(waveform.shape[0], num_samples, sample_rate, s)
    if s.source == "mel":
        _check_mel(s, sample_rate)
    if not bool(waveform.abs().amax() > 0):
        raise AudioLabError(
            "The audio is silent (all samples are 0): there is nothing to reconstruct.",
            zh="音频是静音（全部采样为 0）：没有可重建的内容。",
        )
    return s


def _empty_mel_filters(n_stft: int, n_mels: int, sample_rate: int) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchaudio warns about the very thing checked here
        fb = F.melscale_fbanks(n_stft, 0.0, float(sample_rate // 2), n_mels, sample_rate)
    return bool((fb.amax(dim=0) == 0).any())


def _check_mel(s: Settings, sample_rate: int) -> None:
    """Every mel filter must cover an STFT bin, or the least-squares inverse is undetermined."""
    n_stft = s.n_fft // 2 + 1
    if not _empty_mel_filters(n_stft, s.n_mels, sample_rate):
        return
    fine = (
        m
        for m in range(s.n_mels - 1, limits.GL_N_MELS_RANGE[0] - 1, -1)
        if not _empty_mel_filters(n_stft, m, sample_rate)
    )
    most = next(fine, None)
    hint = f"use at most {most} mels" if most else "use fewer mels"
    raise AudioLabError(
        f"n_mels={s.n_mels} is too many for n_fft={s.n_fft} at {sample_rate} Hz: some mel filters would cover no "
        f"STFT bin and the inverse mel scale would be undetermined; {hint} or a larger n_fft.",
        zh=(
            f"对 {sample_rate} Hz 下的 n_fft={s.n_fft} 来说，n_mels={s.n_mels} 太多：有些梅尔滤波器不覆盖任何 STFT 频"
            f"点，逆梅尔变换将无法确定；{hint}，或使用更大的 n_fft。"
        ),
    )


# --- cached transforms ---------------------------------------------------------------------


def stft_module(s: Settings) -> T.Spectrogram:
    """Cached complex ``T.Spectrogram(power=None)``; its Hann window is Griffin-Lim's too."""
    kw = s.stft_kwargs
    return cache.transform("Spectrogram", (*kw.values(), None), lambda: T.Spectrogram(**kw, power=None))


def inverse_stft_module(s: Settings) -> T.InverseSpectrogram:
    """Cached ``T.InverseSpectrogram`` (the true-phase inverse)."""
    kw = s.stft_kwargs
    return cache.transform("InverseSpectrogram", tuple(kw.values()), lambda: T.InverseSpectrogram(**kw))


def mel_module(s: Settings, sample_rate: int) -> T.MelScale:
    """Cached ``T.MelScale`` with torchaudio's defaults (HTK, no norm, 0 Hz to Nyquist)."""
    n_stft = s.n_fft // 2 + 1
    build = lambda: T.MelScale(n_mels=s.n_mels, sample_rate=sample_rate, n_stft=n_stft)  # noqa: E731
    return cache.transform("MelScale", (s.n_mels, sample_rate, n_stft), build)


def inverse_mel_module(s: Settings, sample_rate: int) -> T.InverseMelScale:
    """Cached ``T.InverseMelScale`` (a least-squares solve, ``torch.linalg.lstsq``)."""
    n_stft = s.n_fft // 2 + 1
    build = lambda: T.InverseMelScale(n_stft=n_stft, n_mels=s.n_mels, sample_rate=sample_rate)  # noqa: E731
    return cache.transform("InverseMelScale", (n_stft, s.n_mels, sample_rate), build)


# --- Griffin-Lim ---------------------------------------------------------------------------


def _initial_phase(shape: torch.Size, dtype: torch.dtype, device, rand_init: bool, generator) -> torch.Tensor:
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    if rand_init:  # uniform real and imaginary parts in [0, 1), as torchaudio draws them
        return torch.rand(shape, dtype=complex_dtype, device=device, generator=generator)
    return torch.full(shape, 1, dtype=complex_dtype, device=device)


def _magnitude_error(rebuilt: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``|| |rebuilt| - target ||_F``; sqrt(re^2 + im^2) is 3x faster than ``abs`` (hypot)."""
    parts = torch.view_as_real(rebuilt).square()
    return torch.linalg.vector_norm((parts[..., 0] + parts[..., 1]).sqrt_().sub_(target))


def griffinlim(
    specgram: torch.Tensor,
    *,
    window: torch.Tensor,
    n_fft: int,
    hop_length: int,
    win_length: int,
    power: float,
    n_iter: int,
    momentum: float,
    length: int | None,
    rand_init: bool,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
    progress_interval_s: float = limits.GL_PROGRESS_INTERVAL_S,
    deadline: Deadline | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``torchaudio.functional.griffinlim`` that also records the spectral convergence.

    ``specgram`` is ``(..., freq, frames)`` (``|STFT|**power``). Returns the waveform
    ``(..., time)`` and ``sc_db`` ``(n_iter,)``: ``sc_db[i]`` is the spectral convergence
    (dB) of the estimate after ``i`` updates, measured on the STFT of iteration ``i + 1``.
    ``progress(done, n_iter, sc_db)`` is called at most every ``progress_interval_s`` s and
    after the last iteration. The random phase comes from ``generator`` (same numbers as
    ``torch.manual_seed`` + torchaudio for the same seed and device). A ``deadline`` is
    checked once per iteration (a second bound behind ``GL_MAX_WORK``, for a busy machine).
    """
    if not 0 <= momentum < 1:
        raise AudioLabError(
            f"momentum must be in [0, 1), got {momentum}.", zh=f"momentum 必须在 [0, 1) 之间，实际为 {momentum}。"
        )
    momentum = momentum / (1 + momentum)
    shape = specgram.size()
    specgram = specgram.reshape([-1, *shape[-2:]])
    if power != 1:  # pow(1) is a copy: skipping it saves a spectrogram's worth of memory
        specgram = specgram.pow(1 / power)
    angles = _initial_phase(specgram.size(), specgram.dtype, specgram.device, rand_init, generator)
    stft = {"n_fft": n_fft, "hop_length": hop_length, "win_length": win_length, "window": window}
    errors = torch.empty(n_iter, dtype=specgram.dtype, device=specgram.device)
    norm = torch.linalg.vector_norm(specgram).clamp_min(torch.finfo(specgram.dtype).tiny)
    tprev, last_report = None, time.monotonic()
    for i in range(n_iter):
        if deadline is not None:
            deadline.check("Griffin-Lim")
        inverse = torch.istft(angles.mul_(specgram), **stft, length=length)  # specgram * angles
        angles = None  # free it before the STFT allocates the next estimate
        rebuilt = torch.stft(inverse, **stft, center=True, pad_mode="reflect", normalized=False,
                             onesided=True, return_complex=True)  # fmt: skip
        if momentum:
            errors[i] = _magnitude_error(rebuilt, specgram)
            # rebuilt - momentum * tprev, written into tprev's buffer (not needed any more)
            angles = rebuilt.clone() if tprev is None else torch.sub(rebuilt, tprev.mul_(momentum), out=tprev)
            angles = angles.div_(angles.abs().add_(1e-16))
            tprev = rebuilt
        else:  # angles is rebuilt: its magnitude serves both the metric and the update
            rebuilt_mag = rebuilt.abs()
            errors[i] = torch.linalg.vector_norm(rebuilt_mag - specgram)
            angles = rebuilt.div_(rebuilt_mag.add_(1e-16))
        now = time.monotonic()
        if progress is not None and (i + 1 == n_iter or now - last_report >= progress_interval_s):
            progress(i + 1, n_iter, amplitude_db(float(errors[i] / norm)))
            last_report = now
    waveform = torch.istft(angles.mul_(specgram), **stft, length=length)
    sc_db = (errors / norm).log10_().mul_(20).clamp_(-DB_CAP, DB_CAP)
    return waveform.reshape(shape[:-2] + waveform.shape[-1:]), sc_db


# --- metrics -------------------------------------------------------------------------------


def magnitude(waveform: torch.Tensor, s: Settings) -> torch.Tensor:
    """``|STFT|`` ``(channel, freq, frames)`` with the reconstruction's settings, on CPU."""
    module = stft_module(s)
    with torch.no_grad():
        return module(waveform.to(module.window.device)).abs().cpu()


def quality_metrics(
    reference: torch.Tensor,
    estimate: torch.Tensor,
    s: Settings,
    *,
    reference_mag: torch.Tensor | None = None,
    estimate_mag: torch.Tensor | None = None,
) -> dict[str, float]:
    """Spectral convergence, SNR, SI-SDR and log-spectral distance (dB) of ``estimate``.

    Both are ``(channel, time)``; the common length is compared. Magnitudes already at
    hand (``|STFT|`` with ``s``'s settings, of that common length) can be passed in.
    """
    n = min(reference.shape[-1], estimate.shape[-1])
    ref_mag = magnitude(reference[..., :n], s) if reference_mag is None else reference_mag
    est_mag = magnitude(estimate[..., :n], s) if estimate_mag is None else estimate_mag
    return {
        "spectral_convergence_db": spectral_convergence_db(ref_mag, est_mag),
        "snr_db": snr_db(reference, estimate),
        "si_sdr_db": si_sdr_db(reference, estimate),
        "lsd_db": log_spectral_distance_db(ref_mag, est_mag),
    }


# --- the whole comparison ------------------------------------------------------------------


@dataclass
class Reconstruction:
    """What the Griffin-Lim tab shows; waveforms are ``(channel, time)`` on CPU."""

    settings: Settings
    sample_rate: int
    original: torch.Tensor  # the input, cut to ``GL_MAX_DURATION_S``
    griffin_lim: torch.Tensor  # ``settings.length`` samples
    true_phase: torch.Tensor  # the complex STFT inverted (the phase Griffin-Lim has to guess)
    convergence_db: list[float]  # n_iter + 1 values: after 0, 1, ..., n_iter iterations
    metrics: dict[str, dict[str, float]]
    original_mag: torch.Tensor  # |STFT| ``(freq, frames)`` of channel 0, for the plot
    reconstruction_mag: torch.Tensor
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def report(self) -> dict:
        """JSON-ready summary: metrics per method, the curve, settings, timings, notes."""
        rounded = {k: {m: round(v, 4) for m, v in d.items()} for k, d in self.metrics.items()}
        return {
            "notes": self.notes,  # first: read before the numbers
            **rounded,
            "settings": {**asdict(self.settings), "sample_rate": self.sample_rate,
                         "channels": self.original.shape[0], "input_samples": self.original.shape[-1]},
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "convergence_db": [round(v, 4) for v in self.convergence_db],  # last: one value per iteration
        }  # fmt: skip


def limit_input(waveform: torch.Tensor, sample_rate: int, n_fft: object, win_length: object, hop_length: object,
                notes: list[str]) -> torch.Tensor:  # fmt: skip
    """The first ``GL_MAX_DURATION_S`` seconds of ``waveform``, and no more than its spectrogram with these
    STFT settings can hold in ``GL_MAX_SPEC_BINS`` bins (a note says when and why it was cut)."""
    n_fft, _, hop = check_stft(n_fft, win_length, hop_length)
    most = int(limits.GL_MAX_DURATION_S * sample_rate)
    frames = limits.GL_MAX_SPEC_BINS // (waveform.shape[0] * (n_fft // 2 + 1))
    fits = max(frames - 1, 1) * hop  # num_samples // hop + 1 frames
    if waveform.shape[-1] <= min(most, fits):
        return waveform
    if most <= fits:
        notes.append(f"Only the first {limits.GL_MAX_DURATION_S:g} s were reconstructed (the Griffin-Lim limit).")
        return waveform[:, :most]
    notes.append(
        f"Only the first {fits / sample_rate:.2f} s were reconstructed: with n_fft={n_fft} and hop_length={hop}, "
        f"{waveform.shape[0]} channel(s) of it fill the {limits.GL_MAX_SPEC_BINS:,} spectrogram bins a request may "
        "hold (memory). A larger hop_length or fewer channels keep more."
    )
    return waveform[:, :fits]


def target_magnitude(x_mag: torch.Tensor, s: Settings, sample_rate: int) -> torch.Tensor:
    """What Griffin-Lim matches, as a magnitude: ``(|X|**power)**(1/power)`` (what ``T.GriffinLim`` does to
    ``T.Spectrogram(power=power)``), or in mel mode ``T.InverseMelScale(T.MelScale(|X|**power))**(1/power)``;
    ``(channel, freq, frames)``."""
    target = x_mag.pow(s.power)
    if s.source == "mel":
        target = inverse_mel_module(s, sample_rate)(mel_module(s, sample_rate)(target))
    return target.pow_(1 / s.power)


def _relative_error_db(estimate_mag: torch.Tensor, target_mag: torch.Tensor) -> float:
    return amplitude_db(
        float(torch.linalg.vector_norm(estimate_mag - target_mag) / torch.linalg.vector_norm(target_mag))
    )


def reconstruct(
    waveform: torch.Tensor,
    sample_rate: int,
    *,
    source: str = "linear",
    n_fft: int = 1024,
    win_length: int | None = None,
    hop_length: int | None = None,
    power: float = 2.0,
    n_iter: int = 32,
    momentum: float = 0.99,
    rand_init: bool = True,
    seed: int = 0,
    length: int | None = None,
    n_mels: int = 80,
    progress: Progress | None = None,
    deadline: Deadline | None = None,
) -> Reconstruction:
    """Griffin-Lim from ``|STFT|**power`` (or a mel spectrogram) of ``(channel, time)`` audio,
    the true-phase inverse, the convergence curve and the metrics of both against the input.

    ``win_length`` defaults to ``n_fft``, ``hop_length`` to ``win_length // 4``, ``length``
    (output samples) to the input's. Bounds: :mod:`audiolab.core.limits` (``GL_*``); the loop
    also stops at ``deadline`` (default: ``REQUEST_BUDGET_S`` from now).
    """
    deadline = deadline or Deadline()
    notes: list[str] = []
    aio.validate_waveform(waveform, sample_rate)
    waveform = limit_input(waveform, sample_rate, n_fft, win_length, hop_length, notes)
    s = check_settings(
        waveform, sample_rate, source=source, n_fft=n_fft, win_length=win_length, hop_length=hop_length,
        power=power, n_iter=n_iter, momentum=momentum, rand_init=rand_init, seed=seed, length=length, n_mels=n_mels,
    )  # fmt: skip
    module, clock = stft_module(s), {"start": time.perf_counter()}
    device = module.window.device
    with torch.no_grad():  # the complex STFT is dropped before the loop: peak memory ~50 B per bin
        stft = module(waveform.to(device))
        true = inverse_stft_module(s)(stft, s.length)
        x_mag = stft.abs()
        del stft
        target_mag = target_magnitude(x_mag, s, sample_rate)
        clock["target"] = time.perf_counter()
        generator = torch.Generator(device=device).manual_seed(s.seed)
        y, sc_db = griffinlim(
            target_mag, window=module.window, **s.stft_kwargs, power=1.0, n_iter=s.n_iter, momentum=s.momentum,
            length=s.length, rand_init=s.rand_init, generator=generator, progress=progress, deadline=deadline,
        )  # fmt: skip
        clock["griffin_lim"] = time.perf_counter()
        result = _judge(waveform.to(device), x_mag, target_mag, y, true, s)
    seconds = {
        "target_spectrogram": clock["target"] - clock["start"],
        "griffin_lim": clock["griffin_lim"] - clock["target"],
    }
    return Reconstruction(
        settings=s, sample_rate=sample_rate, original=waveform, griffin_lim=y.cpu(), true_phase=true.cpu(),
        convergence_db=[*sc_db.tolist(), result["final_db"]], metrics=result["metrics"],
        original_mag=result["mags"][0], reconstruction_mag=result["mags"][1], notes=notes, seconds=seconds,
    )  # fmt: skip


def _judge(x: torch.Tensor, x_mag: torch.Tensor, target_mag: torch.Tensor, y, true, s: Settings) -> dict:
    """Metrics of both reconstructions, the last point of the curve and channel-0 magnitudes."""
    module = stft_module(s)
    y_mag = module(y).abs()  # same frame count as the target (``length`` keeps it)
    known = {"reference_mag": x_mag} if y.shape[-1] == x.shape[-1] else {}  # else the common length is used
    metrics = {
        "griffin_lim": quality_metrics(x, y, s, **known, estimate_mag=y_mag if known else None),
        "true_phase_inverse": quality_metrics(x, true, s, **known),
    }
    if s.source == "mel":
        metrics["inverse_mel_scale"] = {"spectral_convergence_db": spectral_convergence_db(x_mag, target_mag)}
    return {
        "metrics": metrics,
        "final_db": _relative_error_db(y_mag, target_mag),
        "mags": (x_mag[0].cpu(), y_mag[0].cpu()),
    }


# --- figures -------------------------------------------------------------------------------


def convergence_image(convergence_db: list[float], *, title: str = "Griffin-Lim convergence") -> np.ndarray:
    """Spectral convergence (dB) against iterations done, as an RGB image."""
    fig = plots.new_figure(figsize=(10, 3.4), dpi=plots.DPI)
    ax = fig.add_subplot()
    marker = "o" if len(convergence_db) <= 65 else None
    ax.plot(range(len(convergence_db)), convergence_db, marker=marker, markersize=3, color="tab:blue")
    ax.set_xlabel("Iterations done")
    ax.set_ylabel("Spectral convergence (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return plots.figure_to_rgb(fig)


def comparison_image(
    original_mag: torch.Tensor,
    reconstruction_mag: torch.Tensor,
    *,
    sample_rate: int,
    duration_s: float,
    titles: tuple[str, str] = ("Original", "Griffin-Lim reconstruction"),
) -> np.ndarray:
    """Two ``(freq, frames)`` magnitudes in dB, one above the other on the same axes and the original's 80 dB
    range."""
    ref_db = F.amplitude_to_DB(original_mag, multiplier=20.0, amin=1e-10, db_multiplier=0.0)
    est_db = F.amplitude_to_DB(reconstruction_mag, multiplier=20.0, amin=1e-10, db_multiplier=0.0)
    vmax = float(ref_db.max())
    images = [  # one above the other, each full width: side by side they were ~120 px tall on screen
        plots.heatmap_image(
            db.numpy(),
            extent=(0.0, duration_s, 0.0, sample_rate / 2),
            title=title,
            ylabel="Frequency (Hz)",
            colorbar_label="Magnitude (dB)",
            vmin=vmax - 80.0,
            vmax=vmax,
        )
        for db, title in zip((ref_db, est_db), titles, strict=True)
    ]
    return figdata.stack(*images)
