"""The torchaudio code that reproduces the Augment tab's result, as text for its "Code" panel.

The snippet runs as is once the audio files exist; a test executes it and compares its
``waveform`` and ``sample_rate`` with the app's result.
"""

from __future__ import annotations

from collections.abc import Callable

from audiolab.augment import compute as augment
from audiolab.core import limits


def _stft(p: dict, hop: int | None = None) -> str:
    return f"n_fft={p['n_fft']}, hop_length={hop or p['hop_length']}"


def _time_stretch(p: dict, inversion: str) -> list[str]:
    return [
        f"spec = T.Spectrogram({_stft(p)}, power=None)(waveform)  # complex (channel, freq, frames)",
        f"stretched = T.TimeStretch(hop_length={p['hop_length']}, n_freq={p['n_fft'] // 2 + 1}, "
        f"fixed_rate={p['rate']!r})(spec)",
        f"waveform = T.InverseSpectrogram({_stft(p)})(stretched, length=round(waveform.shape[-1] / {p['rate']!r}))",
    ]


def _masking(p: dict, inversion: str) -> list[str]:
    time = p["op"] == "time_masking"
    cls, param = ("TimeMasking", "time_mask_param") if time else ("FrequencyMasking", "freq_mask_param")
    if inversion == "phase":
        back = f"waveform = T.InverseSpectrogram({_stft(p)})(masked, length=waveform.shape[-1])  # original phase"
    else:
        back = (
            f"waveform = T.GriffinLim({_stft(p)}, power=1.0, n_iter={limits.AUG_GRIFFINLIM_ITERS}, "
            "rand_init=False, length=waveform.shape[-1])(masked.abs())"
        )
    return [
        f"spec = T.Spectrogram({_stft(p)}, power=None)(waveform)  # complex (channel, freq, frames)",
        f"torch.manual_seed({p['seed']})",
        f"masking = T.{cls}({param}={p[param]}, iid_masks={p['iid_masks']}" + (f", p={p['p']!r})" if time else ")"),
        "mask = torch.ones(spec.shape)  # masking ones gives the mask itself: 0 where masked",
        f"for _ in range({p['num_masks']}):",
        "    mask = masking(mask)",
        "masked = spec * mask",
        back,
    ]


def _pitch_shift(p: dict, inversion: str) -> list[str]:
    frac = augment.pitch_fraction(p["n_steps"], p["bins_per_octave"])
    n, q, hop = frac.numerator, frac.denominator, p["n_fft"] // 4
    return [
        f"# F.pitch_shift(waveform, sample_rate, {p['n_steps']!r}, bins_per_octave={p['bins_per_octave']}) does these",
        "# steps but resamples from int(sample_rate / rate) Hz: a filter of up to GBs when that rate is coprime",
        f"# with sample_rate. Here rate = 2 ** (-n_steps / bins_per_octave) is written {n}/{q} (within 0.01 %).",
        f"rate = {n} / {q}",
        "length = waveform.shape[-1]",
        f"spec = T.Spectrogram({_stft(p, hop)}, power=None)(waveform)",
        f"stretched = T.TimeStretch(hop_length={hop}, n_freq={p['n_fft'] // 2 + 1}, fixed_rate=rate)(spec)",
        f"waveform = T.InverseSpectrogram({_stft(p, hop)})(stretched, length=round(length / rate))",
        f"waveform = T.Resample({q}, {n})(waveform)[..., :length]",
        "waveform = torch.nn.functional.pad(waveform, (0, length - waveform.shape[-1]))",
    ]


def _speed(p: dict, inversion: str) -> list[str]:
    frac = augment.speed_fraction(p["factor"])
    return [
        f"# F.speed(waveform, sample_rate, {p['factor']!r}) resamples by sample_rate / int({p['factor']!r} * "
        f"sample_rate); exactly {frac.denominator}/{frac.numerator} here",
        f"waveform = T.Resample({frac.numerator}, {frac.denominator})(waveform)",
    ]


def _speed_perturbation(p: dict, inversion: str) -> list[str]:
    return [
        f"torch.manual_seed({p['seed']})",
        f"factors = {p['factors']!r}",
        "factor = factors[int(torch.randint(len(factors), ()))]  # the draw T.SpeedPerturbation(sample_rate, "
        f"factors) makes: {p.get('drawn_factor')!r}",
        f"fraction = Fraction(factor).limit_denominator({limits.AUG_SPEED_MAX_DENOMINATOR})  # 1.1 -> 11/10",
        "speed_up, slow_down = fraction.as_integer_ratio()",
        "waveform = T.Resample(speed_up, slow_down)(waveform)",
    ]


def _resample(p: dict, inversion: str) -> list[str]:
    rate = p["sample_rate"]
    return [
        f"if sample_rate != {rate}:",
        f"    waveform = T.Resample(sample_rate, {rate})(waveform).clamp(-1, 1)",
        f"sample_rate = {rate}",
    ]


def _load_clip(var: str, path: str, first_channel: bool = False) -> list[str]:
    return [
        f"{var}, {var}_rate = torchaudio.load({path!r})" + (f"\n{var} = {var}[:1]" if first_channel else ""),
        f"if {var}_rate != sample_rate:",
        f"    {var} = T.Resample({var}_rate, sample_rate)({var}).clamp(-1, 1)",
    ]


def _noise_lines(p: dict, noise_path: str) -> list[str]:
    if p["noise"] == "clip":
        return [
            *_load_clip("noise", noise_path),
            "if noise.shape[0] != waveform.shape[0]:",
            "    noise = noise.mean(0, keepdim=True).expand(waveform.shape[0], -1)",
            "frames = waveform.shape[-1]",
            "if noise.shape[-1] >= frames:  # a random stretch of the clip, or the clip repeated",
            "    offset = int(torch.randint(noise.shape[-1] - frames + 1, (), generator=g))",
            "    noise = noise[:, offset : offset + frames]",
            "else:",
            "    noise = noise.repeat(1, -(-frames // noise.shape[-1]))[:, :frames]",
        ]
    lines = ["noise = torch.randn(waveform.shape, generator=g)"]
    exponent = augment.NOISE_EXPONENTS[p["noise"]]
    if exponent:
        lines += [
            f"spectrum = torch.fft.rfft(noise)  # {p['noise']} noise: amplitude ~ f ** -{exponent}",
            "f = torch.arange(spectrum.shape[-1], dtype=torch.float32)",
            "f[0] = 1.0",
            f"scale = f.pow(-{exponent})",
            "scale[0] = 0.0  # no DC offset",
            "noise = torch.fft.irfft(spectrum * scale, n=waveform.shape[-1])",
        ]
    return lines


def _add_noise(p: dict, inversion: str, noise_path: str = "noise.wav") -> list[str]:
    return [
        f"g = torch.Generator().manual_seed({p['seed']})",
        *_noise_lines(p, noise_path),
        f"waveform = F.add_noise(waveform, noise, snr=torch.full(waveform.shape[:1], {float(p['snr_db'])!r}))  # dB",
    ]


def _reverb(p: dict, inversion: str, rir_path: str = "rir.wav") -> list[str]:
    if p["rir"] == "clip":
        lines = [
            *_load_clip("rir", rir_path, first_channel=True),
            "start = int(rir.abs().argmax())  # from the direct path (the peak)",
            f"rir = rir[:, start : start + int({limits.AUG_RIR_MAX_S!r} * sample_rate)]",
            "rir = rir / torch.linalg.vector_norm(rir)",
        ]
    else:
        lines = [
            f"g = torch.Generator().manual_seed({p['seed']})",
            f"rt60 = {p['rt60']!r}  # s: the tail decays by 60 dB",
            "t = torch.arange(max(1, round(rt60 * sample_rate)), dtype=torch.float32) / sample_rate",
            "rir = torch.randn(t.shape, generator=g) * torch.exp(-3 * math.log(10) * t / rt60)",
            "rir[0] = torch.linalg.vector_norm(rir)  # a direct path as strong as the tail",
            "rir = (rir / torch.linalg.vector_norm(rir))[None]",
        ]
    return [*lines, "waveform = F.fftconvolve(waveform, rir)"]


def _call(fn: str, *names: str) -> Callable[[dict, str], list[str]]:
    def lines(p: dict, inversion: str) -> list[str]:
        args = ", ".join(f"{n}={p[n]!r}" for n in names)
        return [f"waveform = {fn}(waveform, sample_rate, {args})"]

    return lines


_CODE = {
    "time_stretch": _time_stretch,
    "time_masking": _masking,
    "frequency_masking": _masking,
    "pitch_shift": _pitch_shift,
    "speed": _speed,
    "speed_perturbation": _speed_perturbation,
    "resample": _resample,
    "lowpass": _call("F.lowpass_biquad", "cutoff_freq", "Q"),
    "highpass": _call("F.highpass_biquad", "cutoff_freq", "Q"),
    "bandpass": _call("F.bandpass_biquad", "central_freq", "Q", "const_skirt_gain"),
    "equalizer": _call("F.equalizer_biquad", "center_freq", "gain", "Q"),
    "gain": lambda p, inv: [f"waveform = T.Vol({p['gain_db']!r}, gain_type='db')(waveform)  # clamps to [-1, 1]"],
    "fade": lambda p, inv: [
        f"waveform = T.Fade(fade_in_len={p['fade_in_len']}, fade_out_len={p['fade_out_len']}, "
        f"fade_shape={p['fade_shape']!r})(waveform)"
    ],
    "preemphasis": lambda p, inv: [f"waveform = F.preemphasis(waveform, coeff={p['coeff']!r})"],
}

_HEADER = '''\
import math
from fractions import Fraction

import torch
import torchaudio
import torchaudio.functional as F
import torchaudio.transforms as T


def fit(waveform):
    """Scale down (never up) so the peak is at most 1, as the app does after every step."""
    peak = float(waveform.abs().max())
    return waveform / peak if peak > 1.0 else waveform


'''


def chain_snippet(
    path: str,
    result: augment.ChainResult,
    *,
    num_frames: int = -1,
    noise_path: str = "noise.wav",
    rir_path: str = "rir.wav",
    out_path: str = "augmented.wav",
) -> str:
    """Code for an applied chain: ends with ``waveform`` ``(channel, time)`` and ``sample_rate`` as the app's
    result, saved to ``out_path``. ``num_frames`` is what was loaded (-1: all)."""
    lines = [
        f"waveform, sample_rate = torchaudio.load({path!r}, num_frames={num_frames})  # (channel, time) in [-1, 1]",
        "",
    ]
    for step in result.steps:
        p = step.params
        shown = {k: v for k, v in p.items() if k != "op"}
        body = [f"# {step.index + 1}. {p['op']} {shown}"]
        if p["op"] == "add_noise":
            body += _add_noise(p, result.inversion, noise_path)
        elif p["op"] == "reverb":
            body += _reverb(p, result.inversion, rir_path)
        else:
            body += _CODE[p["op"]](p, result.inversion)
        body += ["waveform = fit(waveform)", ""]
        lines += [line for text in body for line in text.split("\n")]
    lines += [f"torchaudio.save({out_path!r}, waveform, sample_rate)", "print(waveform.shape, sample_rate)"]
    return _HEADER + "\n".join(lines) + "\n"
