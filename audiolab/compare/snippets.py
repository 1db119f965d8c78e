"""The torchaudio code that reproduces a comparison's figures, as text for the "Code" panel.

The snippet runs as is once both files exist; a test executes it and compares ``metrics`` and
``difference_db`` with the engine's.
"""

from __future__ import annotations

from audiolab.compare.compute import Comparison
from audiolab.core import limits

STRETCH = (
    "\npower_b = torch.nn.functional.interpolate(power_b, size=power_a.shape[-1], mode='linear', align_corners=True)"
)


def _load_lines(path_a: str, path_b: str, frames_a: int, frames_b: int, rate_a: int, rate_b: int) -> list[str]:
    lines = [
        f"a, rate = torchaudio.load({path_a!r}, num_frames={frames_a})  # A, the reference: (channel, time)",
        f"b, rate_b = torchaudio.load({path_b!r}, num_frames={frames_b})  # B, measured against A",
        "",
        "# 1. Integrated loudness (ITU-R BS.1770, LUFS) of each clip as given",
        "loudness_a = F.loudness(a, rate).item()",
        "loudness_b = F.loudness(b, rate_b).item()",
    ]
    if rate_a != rate_b:
        lines += ["", "# B on A's sample rate", "b = T.Resample(rate_b, rate)(b).clamp(-1, 1)"]
    return lines


def _align_lines(c: Comparison) -> list[str]:
    if c.align == "time":
        return [
            "# 3. Align by time: sample by sample over the overlap",
            "n = min(a.shape[-1], b.shape[-1])",
            "a, b = a[:, :n], b[:, :n]",
            "x, y = a.double(), b.double()",
            "snr_db = 10 * torch.log10(x.square().sum() / (x - y).square().sum())",
            "target = (y * x).sum(-1, keepdim=True) / x.square().sum(-1, keepdim=True) * x  # B's part along A",
            "si_sdr_db = (10 * torch.log10(target.square().sum(-1) / (y - target).square().sum(-1))).mean()",
        ]
    return [
        "# 3. Align by content: B's time axis scaled by the duration ratio (its STFT frames stretched onto A's)",
        "time_scale = b.shape[-1] / a.shape[-1]",
        "snr_db = si_sdr_db = None  # the samples no longer line up",
    ]


def compare_snippet(path_a: str, path_b: str, c: Comparison, *, frames_a: int = -1, frames_b: int = -1) -> str:
    """Code for comparison ``c``: ends with ``metrics`` (the figures, dB) and ``difference_db``
    (``(channel, freq, time)``, B minus A) defined. ``frames_a``/``frames_b``: frames loaded (-1: all)."""
    rate_b = c.metrics["b"]["sample_rate"]
    gain = c.b_gain_db
    stretch = "" if c.align == "time" else STRETCH
    lines = [
        "import torch",
        "import torchaudio",
        "import torchaudio.functional as F",
        "import torchaudio.transforms as T",
        "",
        *_load_lines(path_a, path_b, frames_a, frames_b, c.sample_rate, rate_b),
        "",
        "# 2. Match loudness: the gain (dB) that brings B to A's loudness" if gain else "# 2. No loudness matching",
        f"gain_db = {'loudness_a - loudness_b' if gain else '0.0'}",
        "b = b * 10 ** (gain_db / 20)",
        "",
        *_align_lines(c),
        "",
        "# 4. One STFT grid for both: power spectrograms, log-spectral distance, B minus A in dB",
        f"spectrogram = T.Spectrogram(n_fft={limits.CMP_N_FFT}, hop_length={limits.CMP_HOP_LENGTH}, power=2.0)",
        "power_a, power_b = spectrogram(a), spectrogram(b)" + stretch,
        "log_a, log_b = power_a.clamp_min(1e-10).log10(), power_b.clamp_min(1e-10).log10()",
        "lsd_db = (10 * (log_a - log_b)).square().mean(dim=-2).sqrt().mean()",
        "to_db = T.AmplitudeToDB(stype='power', top_db=None)",
        "difference_db = to_db(power_b) - to_db(power_a)  # (channel, freq, time); 0 where B equals A",
        "",
        "value = lambda v: None if v is None else float(v)",
        "metrics = {",
        "    'loudness_a': loudness_a, 'loudness_b': loudness_b, 'loudness_difference_db': loudness_b - loudness_a,",
        "    'b_gain_db': gain_db, 'snr_db': value(snr_db), 'si_sdr_db': value(si_sdr_db), 'lsd_db': float(lsd_db),",
        "}",
        "print(metrics)",
    ]
    return "\n".join(lines) + "\n"
