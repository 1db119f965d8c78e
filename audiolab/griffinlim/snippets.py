"""The torchaudio code that reproduces the Griffin-Lim tab's results, as text for its "Code" panel.

The snippet runs as is once the audio file exists; a test executes it and compares
``reconstruction``, ``true_phase`` and ``sc_db`` with the app's results.
"""

from __future__ import annotations

from audiolab.griffinlim.compute import Settings


def _spectrogram_lines(s: Settings) -> list[str]:
    if s.source == "mel":
        return [
            "# 1. A mel spectrogram, then back to a linear one by least squares (T.InverseMelScale)",
            f"mel = T.MelSpectrogram(sample_rate, **stft, n_mels={s.n_mels}, power=power)(waveform)",
            f"spectrogram = T.InverseMelScale(n_stft=n_fft // 2 + 1, n_mels={s.n_mels}, sample_rate=sample_rate)(mel)",
        ]
    return [
        "# 1. The spectrogram to invert: |STFT|**power (the phase is thrown away)",
        "spectrogram = T.Spectrogram(**stft, power=power)(waveform)",
    ]


def griffinlim_snippet(path: str, s: Settings, *, input_samples: int, num_frames: int = -1) -> str:
    """Code for ``s``: ends with ``reconstruction``, ``true_phase`` (``(channel, time)``) and
    ``sc_db`` defined, and both waveforms saved as WAV.

    ``input_samples`` is the length of the audio reconstructed; ``num_frames`` the frames
    loaded (-1: all).
    """
    length = "waveform.shape[-1]" if s.length == input_samples else str(s.length)
    lines = [
        "import torch",
        "import torchaudio",
        "import torchaudio.transforms as T",
        "",
        f"waveform, sample_rate = torchaudio.load({path!r}, num_frames={num_frames})  # (channel, time)",
        f"n_fft, win_length, hop_length, power = {s.n_fft}, {s.win_length}, {s.hop_length}, {s.power!r}",
        "stft = dict(n_fft=n_fft, win_length=win_length, hop_length=hop_length)",
        "",
        *_spectrogram_lines(s),
        "",
        "# 2. Griffin-Lim: start from a seeded random phase, then alternate iSTFT and STFT",
        "griffin_lim = T.GriffinLim(",
        f"    **stft, power=power, n_iter={s.n_iter}, momentum={s.momentum!r}, rand_init={s.rand_init},",
        f"    length={length},",
        ")",
        f"torch.manual_seed({s.seed})",
        "reconstruction = griffin_lim(spectrogram)",
        "",
        "# 3. Reference: the true phase (invert the complex STFT)",
        "complex_stft = T.Spectrogram(**stft, power=None)(waveform)",
        f"true_phase = T.InverseSpectrogram(**stft)(complex_stft, length={length})",
        "",
        "# 4. Spectral convergence (dB): how far |STFT| of the result is from the original's",
        "magnitude = T.Spectrogram(**stft, power=1.0)",
        "target, rebuilt = magnitude(waveform), magnitude(reconstruction)",
        "sc_db = 20 * torch.log10(torch.linalg.vector_norm(rebuilt - target) / torch.linalg.vector_norm(target))",
        'print(f"spectral convergence: {sc_db:.2f} dB")',
        "",
        "torchaudio.save('griffin_lim.wav', reconstruction, sample_rate)",
        "torchaudio.save('true_phase_inverse.wav', true_phase, sample_rate)",
    ]
    return "\n".join(lines) + "\n"
