"""Augmentation: SpecAugment masks, time stretch, pitch shift, speed, noise, reverb, filters.

Each op is a short function on float32 ``(channel, time)`` audio. :func:`run_chain` applies a
list of steps (``{"op": name, **params}``, see :data:`OPS` and :func:`json_schema`) in order:
every step is validated and every result length and STFT size is predicted before any heavy
work, so no allowed setting allocates gigabytes. STFT work runs one channel at a time on the
cache's device with cached transforms.

Random ops draw from a ``torch.Generator`` seeded per step (the chain's seed plus the step's
index, unless the step names its own ``seed``): the same settings give the same result on any
device and thread, and the numbers are the ones ``torch.manual_seed(seed)`` gives torchaudio's
own transforms (``T.TimeMasking``, ``T.SpeedPerturbation``).

Pitch shift is ``F.pitch_shift``'s algorithm (phase vocoder, then resampling) with the
resampling ratio ``2 ** (-n_steps / bins_per_octave)`` written as a fraction ``p/q`` with small
terms (within 0.01 %): ``F.pitch_shift`` resamples from ``int(sample_rate / rate)`` Hz, which
at 16 kHz is often coprime with the rate and builds a kernel of gigabytes, for seconds.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import torch
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.core import cache, limits
from audiolab.core import io as aio
from audiolab.core.deadline import Deadline
from audiolab.core.errors import AudioLabError
from audiolab.griffinlim import compute as griffinlim

Clip = tuple[torch.Tensor, int]  # an extra clip (noise or impulse response): (channel, time) audio and its rate

# --- the ops and their parameters ---------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One parameter of an op: its default and the values allowed."""

    name: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    kind: str = "number"  # number | integer | bool | choice | numbers (a list of numbers)
    choices: tuple = ()
    help: str = ""

    def check(self, op: str, value: Any) -> Any:
        """The validated value (numbers converted), or :class:`AudioLabError` naming it."""
        label = f"{op}.{self.name}"
        if self.kind == "bool":
            return bool(limits.check_choice(label, value, (True, False)))
        if self.kind == "choice":
            return limits.check_choice(label, value, self.choices)
        if self.kind == "numbers":
            if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= limits.AUG_MAX_FACTORS:
                raise AudioLabError(
                    f"{label} must be a list of 1 to {limits.AUG_MAX_FACTORS} numbers, got {value!r}.",
                    zh=f"{label} 必须是 1 到 {limits.AUG_MAX_FACTORS} 个数字组成的列表，实际为 {value!r}。",
                )
            return [limits.check_number(label, v, self.lo, self.hi) for v in value]
        return limits.check_number(label, value, self.lo, self.hi, integer=self.kind == "integer")

    def schema(self) -> dict:
        """JSON Schema of the parameter."""
        out: dict[str, Any] = {"default": self.default, "description": self.help}
        if self.kind == "bool":
            out["type"] = "boolean"
        elif self.kind == "choice":
            out["enum"] = list(self.choices)
        elif self.kind == "numbers":
            item = {"type": "number", "minimum": self.lo, "maximum": self.hi}
            out.update(type="array", items=item, minItems=1, maxItems=limits.AUG_MAX_FACTORS)
        else:
            kind = "integer" if self.kind == "integer" else "number"
            out.update(type=kind if self.default is not None else [kind, "null"], minimum=self.lo, maximum=self.hi)
        return out


@dataclass(frozen=True)
class Op:
    """An augmentation step: its name, parameters, whether it draws random numbers, a summary."""

    name: str
    params: tuple[Param, ...]
    random: bool
    summary: str


def _stft_params(n_fft: int = 512) -> tuple[Param, Param]:
    return (
        Param("n_fft", n_fft, kind="choice", choices=limits.AUG_N_FFT_CHOICES, help="FFT size (samples)"),
        Param("hop_length", None, 1, max(limits.AUG_N_FFT_CHOICES) // 2, "integer",
              help="STFT hop (samples), n_fft // 8 to n_fft // 2; default (null) n_fft // 4"),
    )  # fmt: skip


def _mask_params(param: str, default: int, bounds: tuple[int, int], unit: str) -> tuple[Param, ...]:
    """``T.TimeMasking``'s parameters (``T.FrequencyMasking`` has no ``p``), the count and the STFT."""
    fraction = Param("p", 1.0, 0.0, 1.0, help="a mask covers at most this fraction of the frames")
    return (
        Param(param, default, *bounds, "integer", help=f"longest mask ({unit})"),
        Param("num_masks", 2, *limits.AUG_NUM_MASKS_RANGE, "integer", help="masks applied one after another"),
        Param("iid_masks", False, kind="bool", help="an independent mask per channel"),
        *((fraction,) if param == "time_mask_param" else ()),
        *_stft_params(),
    )


_FREQ = limits.AUG_FREQ_RANGE_HZ
_Q = Param("Q", 0.707, *limits.AUG_Q_RANGE, help="quality factor")
OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Op("time_stretch", (Param("rate", 1.25, *limits.AUG_STRETCH_RATE_RANGE, help="speed-up (>1 shorter)"),
                            *_stft_params()), False, "T.TimeStretch (phase vocoder) on the STFT, inverse STFT"),
        Op("time_masking", _mask_params("time_mask_param", 40, limits.AUG_TIME_MASK_RANGE, "STFT frames"), True,
           "T.TimeMasking (SpecAugment): zero runs of frames"),
        Op("frequency_masking", _mask_params("freq_mask_param", 30, limits.AUG_FREQ_MASK_RANGE, "STFT bins"), True,
           "T.FrequencyMasking (SpecAugment): zero bands of bins"),
        Op("pitch_shift", (Param("n_steps", 4.0, *limits.AUG_PITCH_STEPS_RANGE, help="steps (semitones at 12)"),
                           Param("bins_per_octave", 12, *limits.AUG_BINS_PER_OCTAVE_RANGE, "integer"),
                           _stft_params()[0]), False, "F.pitch_shift: phase vocoder, then resampling"),
        Op("speed", (Param("factor", 1.1, *limits.AUG_SPEED_RANGE, help=">1 faster and higher"),), False,
           "F.speed: resample (pitch and tempo change together)"),
        Op("speed_perturbation", (Param("factors", [0.9, 1.0, 1.1], *limits.AUG_SPEED_RANGE, "numbers"),), True,
           "T.SpeedPerturbation: F.speed with a factor drawn at random"),
        Op("resample", (Param("sample_rate", 8000, kind="choice", choices=limits.RESAMPLE_TARGETS, help="Hz"),),
           False, "T.Resample to a new sample rate"),
        Op("add_noise", (Param("snr_db", 10.0, *limits.AUG_SNR_RANGE_DB, help="signal-to-noise ratio (dB)"),
                         Param("noise", "white", kind="choice", choices=limits.AUG_NOISE_KINDS)), True,
           "F.add_noise: generated white/pink/brown noise or the noise clip, at an SNR"),
        Op("reverb", (Param("rt60", 0.5, *limits.AUG_RT60_RANGE_S, help="synthetic RIR: 60 dB decay time (s)"),
                      Param("rir", "synthetic", kind="choice", choices=limits.AUG_RIR_KINDS)), True,
           "F.fftconvolve with a room impulse response (synthetic, or the RIR clip)"),
        Op("lowpass", (Param("cutoff_freq", 1000.0, *_FREQ, help="Hz"), _Q), False, "F.lowpass_biquad"),
        Op("highpass", (Param("cutoff_freq", 300.0, *_FREQ, help="Hz"), _Q), False, "F.highpass_biquad"),
        Op("bandpass", (Param("central_freq", 1000.0, *_FREQ, help="Hz"), _Q,
                        Param("const_skirt_gain", False, kind="bool")), False, "F.bandpass_biquad"),
        Op("equalizer", (Param("center_freq", 1000.0, *_FREQ, help="Hz"),
                         Param("gain", 6.0, *limits.AUG_EQ_GAIN_RANGE_DB, help="dB"), _Q), False,
           "F.equalizer_biquad"),
        Op("gain", (Param("gain_db", -6.0, *limits.AUG_GAIN_RANGE_DB, help="dB"),), False,
           "T.Vol in dB (clamped to [-1, 1])"),
        Op("fade", (Param("fade_in_s", 0.5, *limits.AUG_FADE_RANGE_S, help="s"),
                    Param("fade_out_s", 0.5, *limits.AUG_FADE_RANGE_S, help="s"),
                    Param("fade_shape", "linear", kind="choice", choices=limits.AUG_FADE_SHAPES)), False, "T.Fade"),
        Op("preemphasis", (Param("coeff", 0.97, *limits.AUG_PREEMPHASIS_RANGE),), False,
           "F.preemphasis: y[i] = x[i] - coeff * x[i-1]"),
    )
}  # fmt: skip


def json_schema() -> dict:
    """JSON Schema of a chain: a list of steps, each ``{"op": name, **params}`` (``seed`` for random ops)."""
    variants = []
    for op in OPS.values():
        props = {"op": {"const": op.name}, **{p.name: p.schema() for p in op.params}}
        if op.random:
            props["seed"] = {"type": "integer", "minimum": 0, "maximum": limits.AUG_SEED_RANGE[1],
                             "description": "default: the chain's seed + the step's index"}  # fmt: skip
        variants.append({"type": "object", "title": op.name, "description": op.summary, "properties": props,
                         "required": ["op"], "additionalProperties": False})  # fmt: skip
    return {"type": "array", "maxItems": limits.AUG_MAX_STEPS, "items": {"oneOf": variants}}


def _check_params(op: Op, step: dict) -> dict:
    out: dict[str, Any] = {"op": op.name}
    for p in op.params:
        value = step.get(p.name, p.default)
        if p.name == "hop_length" and value is None:  # the default follows n_fft
            value = out["n_fft"] // 4
        out[p.name] = p.check(op.name, value)
    if "hop_length" in out:
        n_fft = out["n_fft"]
        limits.check_number(f"{op.name}.hop_length", out["hop_length"], n_fft // limits.AUG_HOP_MIN_DIVISOR, n_fft // 2)
    if op.random and step.get("seed") is not None:
        out["seed"] = limits.check_number(f"{op.name}.seed", step["seed"], *limits.AUG_SEED_RANGE, integer=True)
    if op.name == "pitch_shift" and abs(out["n_steps"] / out["bins_per_octave"]) > limits.AUG_PITCH_MAX_OCTAVES:
        octaves = out["n_steps"] / out["bins_per_octave"]
        raise AudioLabError(
            f"pitch_shift: n_steps / bins_per_octave = {out['n_steps']:g} / {out['bins_per_octave']} "
            f"= {octaves:g} octaves; at most {limits.AUG_PITCH_MAX_OCTAVES:g} octave either way.",
            zh=(
                f"pitch_shift：n_steps / bins_per_octave = {out['n_steps']:g} / {out['bins_per_octave']} = {octaves:g}"
                f" 个八度；向上或向下最多 {limits.AUG_PITCH_MAX_OCTAVES:g} 个八度。"
            ),
        )
    return out


def check_step(step: object, index: int = 0) -> dict:
    """A step with every parameter validated and defaults filled in (``hop_length`` checked against ``n_fft``)."""
    if not isinstance(step, dict) or "op" not in step:
        raise AudioLabError(f'Step {index + 1} must be an object like {{"op": "time_stretch", "rate": 1.2}}, '
                            f"got {step!r}.",
                            zh=(
                                f'第 {index + 1} 步必须是形如 {{"op": "time_stretch", "rate": 1.2}} 的对象，'
                                f'实际为 {step!r}。'
                            ))  # fmt: skip
    op = OPS.get(step["op"])
    if op is None:
        raise AudioLabError(
            f"Step {index + 1}: unknown op {step['op']!r}. Please choose one of: {', '.join(OPS)}.",
            zh=f"第 {index + 1} 步：未知的效果 {step['op']!r}。请从以下选择：{', '.join(OPS)}。",
        )
    names = [p.name for p in op.params] + (["seed"] if op.random else [])
    unknown = sorted(set(step) - {"op", *names})
    if unknown:
        raise AudioLabError(f"Step {index + 1} ({op.name}): unknown parameter(s) {', '.join(unknown)}; "
                            f"valid: {', '.join(names)}.",
                            zh=(
                                f"第 {index + 1} 步（{op.name}）：未知参数 {', '.join(unknown)}；有效参数："
                                f"{', '.join(names)}。"
                            ))  # fmt: skip
    try:
        return _check_params(op, step)
    except AudioLabError as err:
        raise AudioLabError(f"Step {index + 1}: {err}", zh=f"第 {index + 1} 步：{err.text('zh')}") from None


def parse_chain(chain: str | list) -> list[dict]:
    """Validated steps from a JSON text (or an already parsed list) of ``{"op": ..., params}``."""
    if isinstance(chain, str):
        if len(chain) > limits.AUG_MAX_CHAIN_CHARS:
            raise AudioLabError(f"The chain is {len(chain):,} characters long; the limit is "
                                f"{limits.AUG_MAX_CHAIN_CHARS:,}.",
                                zh=f"效果链长 {len(chain):,} 个字符；"
                                   f"上限为 {limits.AUG_MAX_CHAIN_CHARS:,}。")  # fmt: skip
        try:
            chain = json.loads(chain or "[]")
        except json.JSONDecodeError as err:
            raise AudioLabError(
                f"The chain is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno}).",
                zh=f"效果链不是有效的 JSON：{err.msg}（第 {err.lineno} 行，第 {err.colno} 列）。",
            ) from None
    if isinstance(chain, dict):
        chain = [chain]
    if not isinstance(chain, list) or not chain:
        raise AudioLabError(
            'The chain is empty: add a step (e.g. [{"op": "time_stretch", "rate": 1.2}]).',
            zh='效果链为空：请添加一个步骤（例如 [{"op": "time_stretch", "rate": 1.2}]）。',
        )
    if len(chain) > limits.AUG_MAX_STEPS:
        raise AudioLabError(
            f"The chain has {len(chain)} steps; at most {limits.AUG_MAX_STEPS} are allowed.",
            zh=f"效果链有 {len(chain)} 个步骤；最多允许 {limits.AUG_MAX_STEPS} 个。",
        )
    return [check_step(step, i) for i, step in enumerate(chain)]


# --- cached transforms ----------------------------------------------------------------------


def spectrogram_module(n_fft: int, hop: int) -> T.Spectrogram:
    """Cached complex ``T.Spectrogram(n_fft, hop_length=hop, power=None)`` (Hann window, centered)."""
    build = lambda: T.Spectrogram(n_fft=n_fft, win_length=n_fft, hop_length=hop, power=None)  # noqa: E731
    return cache.transform("Spectrogram", (n_fft, n_fft, hop, None), build)


def inverse_module(n_fft: int, hop: int) -> T.InverseSpectrogram:
    """Cached ``T.InverseSpectrogram(n_fft, hop_length=hop)``."""
    build = lambda: T.InverseSpectrogram(n_fft=n_fft, win_length=n_fft, hop_length=hop)  # noqa: E731
    return cache.transform("InverseSpectrogram", (n_fft, n_fft, hop), build)


def stretch_module(n_fft: int, hop: int) -> T.TimeStretch:
    """Cached ``T.TimeStretch(hop_length=hop, n_freq=n_fft // 2 + 1)`` (the rate is given per call)."""
    n_freq = n_fft // 2 + 1
    return cache.transform("TimeStretch", (hop, n_freq), lambda: T.TimeStretch(hop_length=hop, n_freq=n_freq))


def fade_module(fade_in: int, fade_out: int, shape: str) -> T.Fade:
    """Cached ``T.Fade(fade_in, fade_out, shape)`` (lengths in samples)."""
    return cache.transform("Fade", (fade_in, fade_out, shape), lambda: T.Fade(fade_in, fade_out, shape))


def resample_ratio(waveform: torch.Tensor, orig: int, new: int) -> torch.Tensor:
    """``T.Resample(orig, new)`` (cached) on ``(channel, time)`` audio: ``ceil(time * new / orig)`` samples."""
    if orig == new:
        return waveform
    module = aio.resampler(orig, new)
    with torch.no_grad():
        return module(waveform.to(module.kernel.device)).cpu()


# --- STFT ops: time stretch, masks, pitch shift -------------------------------------------------


def _per_channel(waveform: torch.Tensor, fn: Callable, deadline: Deadline | None, what: str) -> torch.Tensor:
    """``fn`` on each ``(1, time)`` channel (bounded peak memory), results joined."""
    outs = []
    for c in range(waveform.shape[0]):
        if deadline is not None:
            deadline.check(what)
        outs.append(fn(waveform[c : c + 1]))
    return torch.cat(outs)


def time_stretch(
    waveform: torch.Tensor, *, rate: float, n_fft: int = 512, hop_length: int | None = None,
    deadline: Deadline | None = None,
) -> torch.Tensor:  # fmt: skip
    """Phase-vocoder time stretch of ``(channel, time)`` audio: ``round(time / rate)`` samples, same pitch.

    ``T.Spectrogram(power=None)`` -> ``T.TimeStretch`` -> ``T.InverseSpectrogram``, one channel at a time.
    """
    hop = hop_length or n_fft // 4
    spec, inverse, stretch = spectrogram_module(n_fft, hop), inverse_module(n_fft, hop), stretch_module(n_fft, hop)
    length, device = round(waveform.shape[-1] / rate), spec.window.device

    def one(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return inverse(phase_vocoder(spec(x.to(device)), rate, stretch.phase_advance), length).cpu()

    return _per_channel(waveform, one, deadline, "Time stretch")


def phase_vocoder(specgram: torch.Tensor, rate: float, phase_advance: torch.Tensor,
                  block: int = limits.AUG_VOCODER_BLOCK_FRAMES) -> torch.Tensor:  # fmt: skip
    """``F.phase_vocoder`` computed ``block`` output frames at a time: the same frames, a fraction of the memory.

    ``specgram`` is complex ``(..., freq, frames)``; returns ``(..., freq, ceil(frames / rate))``.
    torchaudio builds ~10 full-size temporaries (angles, norms, phases); here they are block-sized
    and only the accumulated phase is carried from block to block (in float64, as ``cumsum`` on
    the CPU accumulates, so the phases are the same).
    """
    if rate == 1.0:
        return specgram
    shape = specgram.shape
    x = torch.nn.functional.pad(specgram.reshape(-1, *shape[-2:]), [0, 2])
    steps = torch.arange(0, shape[-1], rate, device=x.device, dtype=x.real.dtype)
    out = torch.empty(*x.shape[:2], steps.numel(), dtype=x.dtype, device=x.device)
    carry = torch.zeros(*x.shape[:2], 1, dtype=torch.float64, device=x.device)
    for a in range(0, steps.numel(), block):
        t = steps[max(a - 1, 0) : a + block]  # the phase of step i comes from step i - 1
        s0, s1 = x.index_select(-1, t.long()), x.index_select(-1, (t + 1).long())
        phase = s1.angle() - s0.angle() - phase_advance
        phase = phase - 2 * math.pi * torch.round(phase / (2 * math.pi)) + phase_advance
        phase = torch.cat([x[..., :1].angle(), phase[..., :-1]], -1) if a == 0 else phase[..., :-1]
        acc = torch.cumsum(phase.double(), -1).add_(carry)
        carry = acc[..., -1:]
        alphas = (t % 1.0) if a == 0 else (t[1:] % 1.0)
        n0, n1 = (s0.abs(), s1.abs()) if a == 0 else (s0[..., 1:].abs(), s1[..., 1:].abs())
        out[..., a : a + block] = torch.polar(alphas * n1 + (1 - alphas) * n0, acc.to(x.real.dtype))
    return out.reshape(*shape[:-2], shape[-2], steps.numel())


def mask_bounds(
    channels: int, size: int, *, mask_param: int, p: float, iid_masks: bool, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``[start, end)`` of one mask per channel along an axis of ``size``, or ``None`` (no mask).

    The draws and arithmetic of ``F.mask_along_axis(_iid)`` (float32, ``torch.rand``), so a
    generator seeded with ``s`` gives the masks ``T.TimeMasking`` gives after ``torch.manual_seed(s)``.
    """
    if p != 1.0:
        mask_param = min(mask_param, int(size * p))
    if mask_param < 1:
        return None
    n = channels if iid_masks else 1
    value = torch.rand(n, generator=generator) * mask_param
    min_value = torch.rand(n, generator=generator) * (size - value)
    start = min_value.long()
    return start.expand(channels), (start + value.long()).expand(channels)


def spec_mask(
    shape: tuple[int, int, int], *, axis: str, mask_param: int, num_masks: int, iid_masks: bool, p: float,
    generator: torch.Generator,
) -> torch.Tensor:  # fmt: skip
    """The 0/1 mask of ``num_masks`` SpecAugment masks for a ``(channel, freq, frames)`` spectrogram:
    ``(channel, freq, 1)`` for ``axis="frequency"``, ``(channel, 1, frames)`` for ``"time"``."""
    channels, size = shape[0], shape[1] if axis == "frequency" else shape[2]
    keep = torch.ones(channels, size, dtype=torch.bool)
    index = torch.arange(size)
    for _ in range(num_masks):
        bounds = mask_bounds(channels, size, mask_param=mask_param, p=p, iid_masks=iid_masks, generator=generator)
        if bounds is not None:
            start, end = bounds
            keep &= ~((index >= start[:, None]) & (index < end[:, None]))
    keep = keep.to(torch.float32)
    return keep[:, :, None] if axis == "frequency" else keep[:, None, :]


def masked_audio(
    waveform: torch.Tensor, mask: torch.Tensor, *, n_fft: int, hop_length: int, inversion: str = "phase",
    deadline: Deadline | None = None,
) -> torch.Tensor:  # fmt: skip
    """The masked STFT (``stft * mask``) made audible: the inverse STFT with the original phase, or
    Griffin-Lim (``T.GriffinLim(power=1, n_iter=32, rand_init=False)``) from its magnitude."""
    spec, inverse = spectrogram_module(n_fft, hop_length), inverse_module(n_fft, hop_length)
    length, device = waveform.shape[-1], spec.window.device

    def one(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            masked = spec(x.to(device)) * m.to(device)
            if inversion == "phase":
                return inverse(masked, length).cpu()
            y, _ = griffinlim.griffinlim(
                masked.abs(), window=spec.window, n_fft=n_fft, hop_length=hop_length, win_length=n_fft, power=1.0,
                n_iter=limits.AUG_GRIFFINLIM_ITERS, momentum=0.99, length=length, rand_init=False, deadline=deadline,
            )  # fmt: skip
            return y.cpu()

    return torch.cat([one(waveform[c : c + 1], mask[c : c + 1]) for c in range(waveform.shape[0])])


@functools.lru_cache(maxsize=1024)
def pitch_fraction(n_steps: float, bins_per_octave: int = 12) -> Fraction:
    """``p/q``, the fraction with the smallest denominator within ``AUG_PITCH_RATIO_TOL`` of the
    stretch rate ``2 ** (-n_steps / bins_per_octave)`` (``1/2`` for an octave up, ``63/50`` for 4 semitones down)."""
    rate = 2.0 ** (-float(n_steps) / bins_per_octave)
    for denominator in range(1, limits.AUG_PITCH_MAX_TERM + 1):
        frac = Fraction(rate).limit_denominator(denominator)
        if abs(frac / Fraction(rate) - 1) <= limits.AUG_PITCH_RATIO_TOL:
            return frac
    return Fraction(rate).limit_denominator(limits.AUG_PITCH_MAX_TERM // 2)  # not reached in the allowed range


def pitch_shift(
    waveform: torch.Tensor, *, n_steps: float, bins_per_octave: int = 12, n_fft: int = 512,
    deadline: Deadline | None = None,
) -> torch.Tensor:  # fmt: skip
    """Shift the pitch by ``n_steps / bins_per_octave`` octaves, keeping the length (like ``F.pitch_shift``).

    Time-stretch by ``rate = p/q`` (:func:`pitch_fraction`), then resample by ``p/q`` with the
    cached ``T.Resample(q, p)``: a kernel of ``p x (q + ~26)`` values, built once.
    """
    frac = pitch_fraction(float(n_steps), int(bins_per_octave))
    length = waveform.shape[-1]
    stretched = time_stretch(
        waveform, rate=frac.numerator / frac.denominator, n_fft=n_fft, hop_length=n_fft // 4, deadline=deadline
    )
    shifted = resample_ratio(stretched, frac.denominator, frac.numerator)[..., :length]
    return torch.nn.functional.pad(shifted, (0, length - shifted.shape[-1]))


# --- resampling ops -----------------------------------------------------------------------------


def speed_fraction(factor: float) -> Fraction:
    """The speed factor as ``p/q`` with ``q <= AUG_SPEED_MAX_DENOMINATOR`` (1.1 -> 11/10)."""
    return Fraction(float(factor)).limit_denominator(limits.AUG_SPEED_MAX_DENOMINATOR)


def speed(waveform: torch.Tensor, *, factor: float) -> torch.Tensor:
    """``F.speed``: play ``factor`` times faster (tempo and pitch), ``ceil(time / factor)`` samples.

    Resamples by ``q/p`` (:func:`speed_fraction`): ``F.speed`` uses ``int(factor * rate) / rate``,
    whose kernel can be huge when ``factor * rate`` is not a whole number.
    """
    frac = speed_fraction(factor)
    return resample_ratio(waveform, frac.numerator, frac.denominator)


def perturbation_index(num_factors: int, generator: torch.Generator) -> int:
    """The factor ``T.SpeedPerturbation`` picks: ``torch.randint(num_factors, ())`` from ``generator``."""
    return int(torch.randint(num_factors, (), generator=generator))


# --- noise and reverb ------------------------------------------------------------------------------

NOISE_EXPONENTS = {"white": 0.0, "pink": 0.5, "brown": 1.0}  # amplitude ~ f ** -exponent (power 1, 1/f, 1/f^2)


def colored_noise(shape: tuple[int, int], color: str, generator: torch.Generator) -> torch.Tensor:
    """Gaussian noise ``(channel, time)``; pink/brown: its spectrum scaled by ``f ** -0.5`` / ``f ** -1``."""
    noise = torch.randn(shape, generator=generator)
    exponent = NOISE_EXPONENTS[color]
    if exponent == 0.0:
        return noise
    spectrum = torch.fft.rfft(noise)
    f = torch.arange(spectrum.shape[-1], dtype=torch.float32)
    f[0] = 1.0
    scale = f.pow(-exponent)
    scale[0] = 0.0  # no DC offset
    return torch.fft.irfft(spectrum * scale, n=shape[-1])


def clip_noise(
    clip: Clip, channels: int, frames: int, sample_rate: int, generator: torch.Generator, notes: list[str]
) -> torch.Tensor:
    """The noise clip at ``sample_rate``, ``(channels, frames)``: a random stretch of it, or it repeated."""
    noise, rate = clip
    noise = aio.resample(noise, rate, sample_rate, notes)
    if noise.shape[0] != channels:
        noise = noise.mean(0, keepdim=True).expand(channels, -1)
    if noise.shape[-1] >= frames:
        offset = int(torch.randint(noise.shape[-1] - frames + 1, (), generator=generator))
        return noise[:, offset : offset + frames]
    return noise.repeat(1, -(-frames // noise.shape[-1]))[:, :frames]


def add_noise(waveform: torch.Tensor, noise: torch.Tensor, *, snr_db: float) -> torch.Tensor:
    """``F.add_noise``: ``waveform + a * noise`` with ``a`` giving ``snr_db`` dB per channel."""
    energy = noise.square().sum(-1)
    if not bool((energy > 0).all()):
        raise AudioLabError(
            "add_noise: the noise is silent (all samples 0) in a channel; use another noise clip.",
            zh="add_noise：噪声音频在某个声道中是静音（全部采样为 0）；请换一个噪声音频。",
        )
    return F.add_noise(waveform, noise, torch.full(waveform.shape[:1], float(snr_db)))


def synthetic_rir(rt60: float, sample_rate: int, generator: torch.Generator) -> torch.Tensor:
    """A room impulse response ``(1, round(rt60 * sample_rate))``: Gaussian noise decaying 60 dB over ``rt60``
    seconds, a direct path as strong as the tail (0 dB direct-to-reverberant), unit L2 norm."""
    t = torch.arange(max(1, round(rt60 * sample_rate)), dtype=torch.float32) / sample_rate
    rir = torch.randn(t.shape, generator=generator) * torch.exp(-3 * math.log(10) * t / rt60)
    rir[0] = torch.linalg.vector_norm(rir)
    return (rir / torch.linalg.vector_norm(rir))[None]


def clip_rir(clip: Clip, sample_rate: int, notes: list[str]) -> torch.Tensor:
    """An uploaded RIR ``(1, time)``: first channel at ``sample_rate``, from its peak, at most
    ``AUG_RIR_MAX_S`` long, unit L2 norm (as in torchaudio's augmentation tutorial)."""
    rir, rate = clip
    rir = aio.resample(rir[:1], rate, sample_rate, notes)
    start = int(rir.abs().argmax())
    rir = rir[:, start : start + int(limits.AUG_RIR_MAX_S * sample_rate)]
    norm = torch.linalg.vector_norm(rir)
    if not norm > 0:
        raise AudioLabError(
            "reverb: the impulse response clip is silent (all samples 0).",
            zh="reverb：冲激响应音频是静音（全部采样为 0）。",
        )
    return rir / norm


# --- running a chain ------------------------------------------------------------------------------


@dataclass
class StepResult:
    """One applied step: its validated parameters (with the seed and what was drawn), the result's
    rate, frames and channels, the time it took and any notes."""

    index: int
    params: dict
    sample_rate: int
    frames: int
    channels: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def row(self) -> list:
        """``[#, op, params (JSON), seed, result duration (s), rate (Hz), time (ms), notes]`` for a table."""
        params = {k: v for k, v in self.params.items() if k not in ("op", "seed")}
        seed = self.params.get("seed", "")
        return [self.index + 1, self.params["op"], json.dumps(params), seed, round(self.frames / self.sample_rate, 3),
                self.sample_rate, round(self.seconds * 1000, 1), " ".join(self.notes)]  # fmt: skip


@dataclass
class ChainResult:
    """The augmented audio ``(channel, time)`` at ``sample_rate``, and each step's report."""

    waveform: torch.Tensor
    sample_rate: int
    steps: list[StepResult]
    inversion: str
    seed: int


@dataclass
class _Context:
    inversion: str
    noise: Clip | None
    rir: Clip | None
    deadline: Deadline
    notes: list[str] = field(default_factory=list)


def _stretch_values(frames: int, n_fft: int, hop: int, rate: float) -> int:
    return (n_fft // 2 + 1) * math.ceil((frames // hop + 1) / min(rate, 1.0))


def predict(p: dict, channels: int, frames: int, sample_rate: int) -> tuple[int, int, int]:
    """``(frames, sample_rate, STFT values per channel)`` of a step's result, before running it (upper bounds)."""
    op, values = p["op"], 0
    if op in ("time_stretch", "time_masking", "frequency_masking"):
        rate = p.get("rate", 1.0)
        values = _stretch_values(frames, p["n_fft"], p["hop_length"], rate)
        frames = round(frames / rate)
    elif op == "pitch_shift":
        values = _stretch_values(frames, p["n_fft"], p["n_fft"] // 4, 2.0 ** (-p["n_steps"] / p["bins_per_octave"]))
    elif op in ("speed", "speed_perturbation"):
        slowest = min(p["factors"]) if op == "speed_perturbation" else p["factor"]
        frames = math.ceil(frames / float(speed_fraction(slowest)))
    elif op == "resample":
        frames, sample_rate = math.ceil(frames * p["sample_rate"] / sample_rate), p["sample_rate"]
    elif op == "reverb":
        frames += round(max(p["rt60"], limits.AUG_RIR_MAX_S if p["rir"] == "clip" else 0) * sample_rate)
    return frames, sample_rate, values


def check_size(p: dict, index: int, channels: int, frames: int, sample_rate: int) -> None:
    """Refuse a step whose result or STFT would be too big, before doing it."""
    out_frames, out_rate, values = predict(p, channels, frames, sample_rate)
    where = f"Step {index + 1} ({p['op']})"
    if "n_fft" in p and frames <= p["n_fft"] // 2:
        raise AudioLabError(f"{where}: the audio has {frames} samples, too short for n_fft={p['n_fft']} "
                            f"(it needs more than {p['n_fft'] // 2}).",
                            zh=(
                                f"{where}：音频只有 {frames} 个采样点，对 n_fft={p['n_fft']} 来说太短（需要多于 "
                                f"{p['n_fft'] // 2} 个）。"
                            ))  # fmt: skip
    if out_frames > limits.AUG_MAX_FRAMES or out_frames * channels > limits.AUG_MAX_SAMPLES:
        raise AudioLabError(
            f"{where} would make {out_frames / out_rate:.1f} s x {channels} channel(s) ({out_frames:,} frames): "
            f"the limit is {limits.AUG_MAX_FRAMES:,} frames and {limits.AUG_MAX_SAMPLES:,} samples. "
            "Use a shorter clip or a milder setting.",
            zh=(
                f"{where} 会生成 {out_frames / out_rate:.1f} 秒 x {channels} 个声道（{out_frames:,} 帧）：上限为 "
                f"{limits.AUG_MAX_FRAMES:,} 帧、{limits.AUG_MAX_SAMPLES:,} 个采样点。请使用更短的音频或更温和的设置。"
            ),
        )
    if values > limits.AUG_MAX_STFT_VALUES:
        raise AudioLabError(
            f"{where}: the STFT of {frames / sample_rate:.1f} s at {sample_rate} Hz with n_fft={p['n_fft']} has "
            f"{values:,} values per channel (limit {limits.AUG_MAX_STFT_VALUES:,}): use a larger hop_length, "
            "a milder rate or a shorter clip.",
            zh=(
                f"{where}：{frames / sample_rate:.1f} 秒、{sample_rate} Hz、n_fft={p['n_fft']} 的 STFT 每个声道有 "
                f"{values:,} 个值（上限 {limits.AUG_MAX_STFT_VALUES:,}）：请增大 hop_length、使用更温和的 rate 或更短"
                "的音频。"
            ),
        )


def _nyquist(p: dict, key: str, sample_rate: int) -> float:
    freq = p[key]
    if not freq < sample_rate / 2:
        raise AudioLabError(
            f"{p['op']}.{key}={freq:g} Hz must be below half the sample rate ({sample_rate / 2:g} Hz).",
            zh=f"{p['op']}.{key}={freq:g} Hz 必须低于采样率的一半（{sample_rate / 2:g} Hz）。",
        )
    return freq


def _masks(x: torch.Tensor, sr: int, p: dict, ctx: _Context, g: torch.Generator, axis: str):
    frames = x.shape[-1] // p["hop_length"] + 1
    param = p["time_mask_param" if axis == "time" else "freq_mask_param"]
    mask = spec_mask((x.shape[0], p["n_fft"] // 2 + 1, frames), axis=axis, mask_param=param,
                     num_masks=p["num_masks"], iid_masks=p["iid_masks"], p=p.get("p", 1.0), generator=g)  # fmt: skip
    masked = masked_audio(x, mask, n_fft=p["n_fft"], hop_length=p["hop_length"], inversion=ctx.inversion,
                          deadline=ctx.deadline)  # fmt: skip
    ctx.notes.append(f"{int((mask == 0).sum())} of {mask.numel()} {axis} slots masked.")
    return masked, sr


def _pitch(x: torch.Tensor, sr: int, p: dict, ctx: _Context):
    frac = pitch_fraction(p["n_steps"], p["bins_per_octave"])
    exact = 2.0 ** (p["n_steps"] / p["bins_per_octave"])
    ctx.notes.append(f"Stretch by {frac}, then resample {frac.denominator} -> {frac.numerator}: pitch x"
                     f"{frac.denominator / frac.numerator:.5f} (exact {exact:.5f}).")  # fmt: skip
    return pitch_shift(x, n_steps=p["n_steps"], bins_per_octave=p["bins_per_octave"], n_fft=p["n_fft"],
                       deadline=ctx.deadline), sr  # fmt: skip


def _speed_perturbation(x: torch.Tensor, sr: int, p: dict, g: torch.Generator):
    factor = p["factors"][perturbation_index(len(p["factors"]), g)]
    p["drawn_factor"] = factor
    return speed(x, factor=factor), sr


def _noise(x: torch.Tensor, sr: int, p: dict, ctx: _Context, g: torch.Generator):
    if p["noise"] == "clip":
        if ctx.noise is None:
            raise AudioLabError(
                "add_noise with noise='clip' needs a noise clip: upload one.",
                zh="noise='clip' 的 add_noise 需要一个噪声音频：请上传。",
            )
        noise = clip_noise(ctx.noise, x.shape[0], x.shape[-1], sr, g, ctx.notes)
    else:
        noise = colored_noise(tuple(x.shape), p["noise"], g)
    return add_noise(x, noise, snr_db=p["snr_db"]), sr


def _reverb(x: torch.Tensor, sr: int, p: dict, ctx: _Context, g: torch.Generator):
    if p["rir"] == "clip":
        if ctx.rir is None:
            raise AudioLabError(
                "reverb with rir='clip' needs an impulse response clip: upload one.",
                zh="rir='clip' 的 reverb 需要一个冲激响应音频：请上传。",
            )
        rir = clip_rir(ctx.rir, sr, ctx.notes)
    else:
        rir = synthetic_rir(p["rt60"], sr, g)
    return F.fftconvolve(x, rir), sr


def _fade(x: torch.Tensor, sr: int, p: dict, ctx: _Context):
    lengths = [min(round(p[k] * sr), x.shape[-1]) for k in ("fade_in_s", "fade_out_s")]
    if lengths != [round(p["fade_in_s"] * sr), round(p["fade_out_s"] * sr)]:
        ctx.notes.append(f"Fades were shortened to the clip's {x.shape[-1] / sr:.2f} s.")
    p["fade_in_len"], p["fade_out_len"] = lengths
    return fade_module(*lengths, p["fade_shape"])(x), sr


_APPLY: dict[str, Callable[..., tuple[torch.Tensor, int]]] = {
    "time_stretch": lambda x, sr, p, ctx, g: (time_stretch(x, rate=p["rate"], n_fft=p["n_fft"],
                                              hop_length=p["hop_length"], deadline=ctx.deadline), sr),
    "time_masking": lambda x, sr, p, ctx, g: _masks(x, sr, p, ctx, g, "time"),
    "frequency_masking": lambda x, sr, p, ctx, g: _masks(x, sr, p, ctx, g, "frequency"),
    "pitch_shift": lambda x, sr, p, ctx, g: _pitch(x, sr, p, ctx),
    "speed": lambda x, sr, p, ctx, g: (speed(x, factor=p["factor"]), sr),
    "speed_perturbation": lambda x, sr, p, ctx, g: _speed_perturbation(x, sr, p, g),
    "resample": lambda x, sr, p, ctx, g: (aio.resample(x, sr, p["sample_rate"], ctx.notes), p["sample_rate"]),
    "add_noise": _noise,
    "reverb": _reverb,
    "lowpass": lambda x, sr, p, ctx, g: (F.lowpass_biquad(x, sr, _nyquist(p, "cutoff_freq", sr), p["Q"]), sr),
    "highpass": lambda x, sr, p, ctx, g: (F.highpass_biquad(x, sr, _nyquist(p, "cutoff_freq", sr), p["Q"]), sr),
    "bandpass": lambda x, sr, p, ctx, g: (F.bandpass_biquad(x, sr, _nyquist(p, "central_freq", sr), p["Q"],
                                          p["const_skirt_gain"]), sr),
    "equalizer": lambda x, sr, p, ctx, g: (F.equalizer_biquad(x, sr, _nyquist(p, "center_freq", sr), p["gain"],
                                           p["Q"]), sr),
    "gain": lambda x, sr, p, ctx, g: (F.gain(x, p["gain_db"]).clamp(-1.0, 1.0), sr),  # = T.Vol(gain_db, "db")
    "fade": lambda x, sr, p, ctx, g: _fade(x, sr, p, ctx),
    "preemphasis": lambda x, sr, p, ctx, g: (F.preemphasis(x, p["coeff"]), sr),
}  # fmt: skip


def fit(waveform: torch.Tensor, notes: list[str]) -> torch.Tensor:
    """Scale down (never up) so the peak is at most 1, with a note; what every step's result goes through."""
    peak = float(waveform.abs().max()) if waveform.numel() else 0.0
    if not math.isfinite(peak):
        raise AudioLabError(
            "The step produced non-finite samples (NaN/Inf); try other settings.",
            zh="该步骤产生了非有限的采样值（NaN/Inf）；请尝试其他设置。",
        )
    if peak > 1.0:
        notes.append(f"Peak {peak:.3g} was scaled down to 1 ({-20 * math.log10(peak):.1f} dB).")
        return waveform / peak
    return waveform


def apply_step(
    waveform: torch.Tensor, sample_rate: int, p: dict, ctx: _Context, index: int
) -> tuple[torch.Tensor, int]:
    """One validated step (``p`` gets the seed used and what was drawn); the result is :func:`fit`."""
    check_size(p, index, waveform.shape[0], waveform.shape[-1], sample_rate)
    generator = torch.Generator().manual_seed(p["seed"]) if "seed" in p else None
    with torch.no_grad():
        out, rate = _APPLY[p["op"]](waveform, sample_rate, p, ctx, generator)
    return fit(out.to(torch.float32), ctx.notes), rate


def run_chain(
    waveform: torch.Tensor,
    sample_rate: int,
    chain: str | list,
    *,
    seed: int = 0,
    inversion: str = "phase",
    noise: Clip | None = None,
    rir: Clip | None = None,
    deadline: Deadline | None = None,
) -> ChainResult:
    """Apply the steps of ``chain`` (JSON text or list, see :func:`json_schema`) in order to ``(channel, time)`` audio.

    Random step ``i`` uses ``seed + i`` unless it names its own ``seed``. ``inversion`` turns masked
    spectrograms back into audio (``"phase"``: inverse STFT with the original phase; ``"griffinlim"``).
    ``noise`` and ``rir`` are the clips for ``add_noise(noise="clip")`` and ``reverb(rir="clip")``.
    """
    aio.validate_waveform(waveform, sample_rate)
    steps = parse_chain(chain)
    seed = int(limits.check_number("seed", seed, *limits.AUG_SEED_RANGE, integer=True))
    inversion = str(limits.check_choice("inversion", inversion, limits.AUG_INVERSIONS))
    deadline = deadline or Deadline()
    results = []
    for i, p in enumerate(steps):
        deadline.check("The augmentation chain")
        if OPS[p["op"]].random:
            p.setdefault("seed", seed + i)
        ctx = _Context(inversion, noise, rir, deadline)
        start = time.perf_counter()
        waveform, sample_rate = apply_step(waveform, sample_rate, p, ctx, i)
        results.append(StepResult(i, p, sample_rate, waveform.shape[-1], waveform.shape[0],
                                  time.perf_counter() - start, ctx.notes))  # fmt: skip
    return ChainResult(waveform.contiguous(), sample_rate, results, inversion, seed)


def step_io(waveform: torch.Tensor, sample_rate: int, chain: str | list, step: int, **kwargs) -> tuple[
        tuple[torch.Tensor, int], tuple[torch.Tensor, int]]:  # fmt: skip
    """The audio before and after step ``step`` (1-based) of ``chain``: ``((x, rate), (y, rate))``,
    exactly as :func:`run_chain` computes them (random step ``i`` still uses ``seed + i``); ``kwargs``
    are :func:`run_chain`'s."""
    steps = parse_chain(chain)
    step = int(limits.check_number("step", step, 1, max(1, len(steps)), integer=True))
    before = run_chain(waveform, sample_rate, steps[: step - 1], **kwargs) if step > 1 else None
    after = run_chain(waveform, sample_rate, steps[:step], **kwargs)
    start = (before.waveform, before.sample_rate) if before else (waveform, sample_rate)
    return start, (after.waveform, after.sample_rate)


def limit_input(waveform: torch.Tensor, sample_rate: int, notes: list[str]) -> torch.Tensor:
    """The first ``AUG_MAX_DURATION_S`` seconds (and ``AUG_MAX_INPUT_SAMPLES`` samples) of the input."""
    most = min(int(limits.AUG_MAX_DURATION_S * sample_rate), limits.AUG_MAX_INPUT_SAMPLES // waveform.shape[0])
    if waveform.shape[-1] <= most:
        return waveform
    notes.append(f"Only the first {most / sample_rate:.1f} s were augmented (the Augment tab's limit).")
    return waveform[:, :most]


def chain_text(steps: list[dict]) -> str:
    """A chain as JSON text, one step per line."""
    if not steps:
        return "[]"
    return "[\n" + ",\n".join("  " + json.dumps(step) for step in steps) + "\n]"


PRESETS: dict[str, list[dict]] = {
    "SpecAugment (time + frequency masks)": [
        {"op": "time_masking", "time_mask_param": 40, "num_masks": 2},
        {"op": "frequency_masking", "freq_mask_param": 30, "num_masks": 2},
    ],
    "Telephone (band-limited, 8 kHz, noisy)": [
        {"op": "bandpass", "central_freq": 1700.0, "Q": 0.6},
        {"op": "resample", "sample_rate": 8000},
        {"op": "add_noise", "snr_db": 20.0, "noise": "pink"},
    ],
    "Room (reverb + noise)": [
        {"op": "reverb", "rt60": 0.6},
        {"op": "add_noise", "snr_db": 15.0, "noise": "brown"},
    ],
    "Faster and higher": [
        {"op": "time_stretch", "rate": 1.25},
        {"op": "pitch_shift", "n_steps": 3},
    ],
    "Speed perturbation + fade": [
        {"op": "speed_perturbation", "factors": [0.9, 1.0, 1.1]},
        {"op": "fade", "fade_in_s": 0.3, "fade_out_s": 0.3, "fade_shape": "half_sine"},
    ],
}
