"""Regenerate every example clip, deterministically: ``.venv/bin/python examples/make_examples.py``.

All clips are our own synthesis: speech from espeak-ng (its output is ours to use), the
rest from numpy with fixed seeds. ``manifest.json`` lists them for the app and the tests.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as F

HERE = Path(__file__).resolve().parent
SPEECH = {
    "speech_en.wav": ("en-us", "Hello from TorchAudio Lab. This is a test of speech recognition."),
    "speech_zh.wav": ("cmn", "你好，欢迎使用音频实验室。这是一个语音识别的测试。"),
}


def espeak(voice: str, text: str, rate: int = 16_000) -> np.ndarray:
    """Speak ``text`` with espeak-ng (speed 150 wpm), resampled to ``rate``; mono float32."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True)
        x, sr = sf.read(str(wav), dtype="float32")
    y = F.resample(torch.from_numpy(x), sr, rate).numpy()
    return normalize(y, 0.9)


def normalize(x: np.ndarray, peak: float) -> np.ndarray:
    """Scale so the largest absolute sample is ``peak``."""
    return (x / np.abs(x).max() * peak).astype(np.float32)


def fade(x: np.ndarray, rate: int, seconds: float = 0.02) -> np.ndarray:
    """Linear fade in and out over ``seconds`` (first axis is time)."""
    n = int(rate * seconds)
    ramp = np.linspace(0, 1, n, dtype=np.float32)
    x = x.copy()
    x[:n] *= ramp if x.ndim == 1 else ramp[:, None]
    x[-n:] *= ramp[::-1] if x.ndim == 1 else ramp[::-1, None]
    return x


def chord_music(rate: int = 44_100, seconds: float = 4.0) -> np.ndarray:
    """Four chords (C, Am, F, G) of harmonic voices with ADSR envelopes, panned; ``(time, 2)``."""
    t = np.arange(int(rate * seconds)) / rate
    out = np.zeros((t.size, 2))
    chords = [[261.63, 329.63, 392.0], [220.0, 261.63, 329.63], [174.61, 220.0, 261.63], [196.0, 246.94, 293.66]]
    beat = seconds / len(chords)
    for i, chord in enumerate(chords):
        local = t - i * beat
        env = np.where(
            (local >= 0) & (local < beat), np.minimum(local / 0.02, 1) * np.exp(-2.5 * np.clip(local, 0, None)), 0
        )
        for v, f0 in enumerate(chord):
            voice = sum(np.sin(2 * np.pi * f0 * k * t) / k**1.5 for k in range(1, 6))
            pan = [0.2, 0.5, 0.8][v]
            out[:, 0] += (1 - pan) * env * voice
            out[:, 1] += pan * env * voice
    bass = np.sin(2 * np.pi * 65.41 * t) * 0.5 * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    out += bass[:, None] * 0.6
    return normalize(fade(out, rate), 0.9)


def chirp(rate: int = 16_000, seconds: float = 3.0, f0: float = 50.0, f1: float = 7900.0) -> np.ndarray:
    """Logarithmic sine sweep ``f0`` -> ``f1`` Hz, amplitude 0.5."""
    t = np.arange(int(rate * seconds)) / rate
    k = np.log(f1 / f0) / seconds
    return fade(0.5 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k), rate, 0.01).astype(np.float32)


def two_tones(rate: int = 8_000) -> np.ndarray:
    """440 Hz for 1 s then 660 Hz for 1 s, amplitude 0.5."""
    t = np.arange(rate) / rate
    return fade(np.concatenate([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 660 * t)]), rate, 0.01)


def tones_and_noise(rate: int = 48_000, seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    """1 kHz + 5 kHz tones (0.3 each) plus seeded white noise (0.02 RMS)."""
    t = np.arange(int(rate * seconds)) / rate
    noise = np.random.default_rng(seed).normal(0, 0.02, t.size)
    return fade(0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 5000 * t) + noise, rate).astype(
        np.float32
    )


CLIPS = [
    # file, make, rate, subtype, English and Chinese descriptions
    ("speech_en.wav", lambda: espeak(*SPEECH["speech_en.wav"]), 16_000, "PCM_16",
     "English speech (espeak-ng, en-us): \"Hello from TorchAudio Lab. This is a test of speech recognition.\"",
     "英语语音（espeak-ng，en-us）：\"Hello from TorchAudio Lab. This is a test of speech recognition.\""),
    ("speech_zh.wav", lambda: espeak(*SPEECH["speech_zh.wav"]), 16_000, "PCM_16",
     "Mandarin speech (espeak-ng, cmn): \"你好，欢迎使用音频实验室。这是一个语音识别的测试。\"",
     "普通话语音（espeak-ng，cmn）：“你好，欢迎使用音频实验室。这是一个语音识别的测试。”"),
    ("music_stereo.flac", chord_music, 44_100, "PCM_16",
     "Stereo music-like clip: C-Am-F-G chords with harmonics, ADSR envelopes and panning, 44.1 kHz",
     "立体声类音乐片段：C-Am-F-G 和弦，含谐波、包络与声像，44.1 kHz"),
    ("chirp.wav", chirp, 16_000, "PCM_16",
     "Logarithmic sine sweep 50 Hz to 7.9 kHz, 3 s, 16 kHz", "对数正弦扫频 50 Hz 到 7.9 kHz，3 秒，16 kHz"),
    ("tone_8k.wav", two_tones, 8_000, "PCM_16",
     "440 Hz then 660 Hz tone, 1 s each, 8 kHz", "先 440 Hz 后 660 Hz 的纯音，各 1 秒，8 kHz"),
    ("tones_48k.flac", tones_and_noise, 48_000, "PCM_24",
     "1 kHz + 5 kHz tones with light white noise (seed 0), 48 kHz, 24-bit FLAC",
     "1 kHz 与 5 kHz 纯音叠加轻微白噪声（种子 0），48 kHz，24 位 FLAC"),
]  # fmt: skip


def main() -> None:
    """Write every clip and the manifest."""
    manifest = []
    for name, make, rate, subtype, en, zh in CLIPS:
        x = make()
        sf.write(str(HERE / name), x, rate, subtype=subtype)
        info = sf.info(str(HERE / name))
        manifest.append({
            "file": name, "sample_rate": info.samplerate, "num_channels": info.channels,
            "num_frames": info.frames, "duration_s": round(info.frames / info.samplerate, 3),
            "subtype": info.subtype, "description_en": en, "description_zh": zh,
        })  # fmt: skip
    (HERE / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
