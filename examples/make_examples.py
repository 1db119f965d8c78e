"""Regenerate every example clip, deterministically: ``.venv/bin/python examples/make_examples.py``.

All clips are our own synthesis: speech from espeak-ng (GPL-3 software; the audio it writes is ours
to use), everything else from numpy formulas with fixed seeds. The script also writes
``manifest.json`` (read by the app and the tests) and ``MANIFEST.md`` (for people), then checks
every file it wrote.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as F

HERE = Path(__file__).resolve().parent
EN_VOICE = "en-us"
EN_TEXT = "Hello from TorchAudio Lab. This is a test of speech recognition."
# espeak-ng 1.51's "cmn" turns hanzi into pinyin and then reads that pinyin as *English*
# ("ni three hao three", espeak-ng issue #1236); "cmn-latn-pinyin" speaks it as Mandarin.
ZH_VOICES = ("cmn", "cmn-latn-pinyin", "zh")
ZH_TEXT = "你好，欢迎使用音频实验室。这是一个语音识别的测试。"
SPEECH_WPM = 150
SPEECH_RATE = 16_000
NOISE_SEED = 0
MAX_TOTAL_BYTES = 1_500_000
CHORDS = (  # C, Am, F, G triads (Hz), one second each
    ("C", (261.63, 329.63, 392.00)),
    ("Am", (220.00, 261.63, 329.63)),
    ("F", (174.61, 220.00, 261.63)),
    ("G", (196.00, 246.94, 293.66)),
)
CHORD_PANS = (-0.7, 0.0, 0.7)  # low, middle, high chord voice: left, centre, right
BASS_PAN = 0.35


@dataclass(frozen=True)
class Clip:
    """One example file: how to make it, how to store it, and how to describe it."""

    file: str
    rate: int
    subtype: str
    make: Callable[[], np.ndarray]
    how: str
    description_en: str
    description_zh: str


# --- speech -----------------------------------------------------------------------------------


def espeak_switches_to_english(voice: str, text: str) -> bool:
    """Whether espeak-ng with ``voice`` would read any of ``text`` with its English rules (or fails)."""
    run = subprocess.run(["espeak-ng", "-v", voice, "-q", "--ipa", text], capture_output=True, text=True, check=False)
    return run.returncode != 0 or "(en)" in run.stdout


def pick_voice(candidates: tuple[str, ...], text: str) -> str:
    """The first voice in ``candidates`` that speaks all of ``text`` in its own language."""
    for voice in candidates:
        if not espeak_switches_to_english(voice, text):
            return voice
    raise RuntimeError(f"none of the espeak-ng voices {candidates} reads {text!r} without switching to English")


def espeak(voice: str, text: str, rate: int = SPEECH_RATE) -> np.ndarray:
    """``text`` spoken by espeak-ng at ``SPEECH_WPM``, resampled to ``rate``, peak 0.9; mono float32."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "speech.wav"
        cmd = ["espeak-ng", "-v", voice, "-s", str(SPEECH_WPM), "-w", str(wav), text]
        subprocess.run(cmd, check=True, capture_output=True)
        x, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    y = F.resample(torch.from_numpy(x[:, 0].copy()), sr, rate).numpy()
    return normalize(y, 0.9)


# --- small signal helpers -----------------------------------------------------------------------


def times(rate: int, seconds: float) -> np.ndarray:
    """Sample times ``0, 1/rate, ...`` for ``seconds``."""
    return np.arange(round(rate * seconds)) / rate


def normalize(x: np.ndarray, peak: float) -> np.ndarray:
    """Scale so the largest absolute sample is ``peak``; float32."""
    return (x * (peak / np.abs(x).max())).astype(np.float32)


def fade(x: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    """Linear fade in and out over ``seconds`` (time is the first axis)."""
    n = round(rate * seconds)
    ramp = np.linspace(0.0, 1.0, n)
    if x.ndim == 2:
        ramp = ramp[:, None]
    y = x.astype(np.float64, copy=True)
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y


def adsr(n: int, rate: int, attack: float, decay: float, sustain: float, release: float) -> np.ndarray:
    """Linear attack-decay-sustain-release envelope over ``n`` samples; the release ends the note."""
    t = np.arange(n) / rate
    end = n / rate
    return np.interp(t, [0.0, attack, attack + decay, end - release, end], [0.0, 1.0, sustain, sustain, 0.0])


def harmonic_voice(f0: float, t: np.ndarray, harmonics: int = 5) -> np.ndarray:
    """A tone with ``harmonics`` partials, the k-th at amplitude ``1 / k**1.5``."""
    return sum(np.sin(2 * np.pi * k * f0 * t) / k**1.5 for k in range(1, harmonics + 1))


def pan(x: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan of mono ``x`` to ``(time, 2)``; ``position`` -1 is left, +1 right."""
    angle = (position + 1) * np.pi / 4
    return np.stack([np.cos(angle) * x, np.sin(angle) * x], axis=1)


# --- the clips --------------------------------------------------------------------------------


def chord(freqs: tuple[float, ...], rate: int, seconds: float) -> np.ndarray:
    """One chord: each voice harmonic, ADSR-shaped and panned, plus a bass an octave below the root."""
    t = times(rate, seconds)
    out = np.zeros((t.size, 2))
    for f0, position in zip(freqs, CHORD_PANS, strict=True):
        env = adsr(t.size, rate, attack=0.02, decay=0.15, sustain=0.6, release=0.3)
        out += pan(env * harmonic_voice(f0, t), position)
    bass_env = adsr(t.size, rate, attack=0.01, decay=0.3, sustain=0.4, release=0.25)
    return out + pan(0.8 * bass_env * harmonic_voice(freqs[0] / 2, t, harmonics=3), BASS_PAN)


def chord_music(rate: int = 44_100, seconds_per_chord: float = 1.0) -> np.ndarray:
    """The C-Am-F-G progression, one chord per ``seconds_per_chord``; stereo ``(time, 2)``, peak 0.9."""
    return normalize(np.concatenate([chord(f, rate, seconds_per_chord) for _, f in CHORDS]), 0.9)


def log_chirp(rate: int = 16_000, seconds: float = 3.0, f0: float = 50.0, f1: float = 7_900.0) -> np.ndarray:
    """Logarithmic sine sweep ``f0`` -> ``f1`` Hz, amplitude 0.5, 10 ms fades."""
    t = times(rate, seconds)
    k = np.log(f1 / f0) / seconds
    return fade(0.5 * np.sin(2 * np.pi * f0 * np.expm1(k * t) / k), rate, 0.01).astype(np.float32)


def two_tones(rate: int = 8_000, first: float = 440.0, second: float = 660.0) -> np.ndarray:
    """``first`` Hz for 1 s then ``second`` Hz for 1 s (phase-continuous), amplitude 0.5, 10 ms fades."""
    freq = np.repeat([first, second], rate)
    phase = 2 * np.pi * np.concatenate([[0.0], np.cumsum(freq[:-1])]) / rate
    return fade(0.5 * np.sin(phase), rate, 0.01).astype(np.float32)


def tones_and_noise(rate: int = 48_000, seconds: float = 2.0, seed: int = NOISE_SEED) -> np.ndarray:
    """1 kHz + 5 kHz sines (0.3 each) plus Gaussian white noise (sigma 0.01, numpy ``seed``), 20 ms fades."""
    t = times(rate, seconds)
    noise = np.random.default_rng(seed).normal(0.0, 0.01, t.size)
    x = 0.3 * np.sin(2 * np.pi * 1_000 * t) + 0.3 * np.sin(2 * np.pi * 5_000 * t) + noise
    return fade(x, rate, 0.02).astype(np.float32)


def speech_clips(zh_voice: str) -> list[Clip]:
    """The English and Mandarin espeak-ng clips."""
    made = '`espeak-ng -v {v} -s {s} -w tmp.wav "{t}"` (22.05 kHz)'
    how = made + ", `torchaudio.functional.resample` to 16 kHz, peak 0.9"
    return [
        Clip("speech_en.wav", SPEECH_RATE, "PCM_16", lambda: espeak(EN_VOICE, EN_TEXT),
             how.format(v=EN_VOICE, s=SPEECH_WPM, t=EN_TEXT),
             f"English speech (espeak-ng, {EN_VOICE}): \"{EN_TEXT}\"",
             f"英语语音（espeak-ng，{EN_VOICE}）：“{EN_TEXT}”"),
        Clip("speech_zh.wav", SPEECH_RATE, "PCM_16", lambda: espeak(zh_voice, ZH_TEXT),
             how.format(v=zh_voice, s=SPEECH_WPM, t=ZH_TEXT),
             f"Mandarin speech (espeak-ng, {zh_voice}): \"{ZH_TEXT}\"",
             f"普通话语音（espeak-ng，{zh_voice}）：“{ZH_TEXT}”"),
    ]  # fmt: skip


def synth_clips() -> list[Clip]:
    """The numpy-made clips."""
    return [
        Clip("music_stereo.flac", 44_100, "PCM_16", chord_music,
             "numpy: C-Am-F-G triads, 1 s each; every voice 5 harmonics (1/k^1.5) with ADSR "
             "(A 20 ms, D 150 ms, S 0.6, R 300 ms), constant-power pans -0.7/0/+0.7; bass an octave below "
             "the root (3 harmonics, ADSR 10/300/0.4/250 ms, pan +0.35); peak 0.9",
             "Stereo music-like clip: C-Am-F-G chords with harmonics, ADSR envelopes and panning, 44.1 kHz",
             "立体声类音乐片段：C-Am-F-G 和弦，含谐波、ADSR 包络与声像，44.1 kHz"),
        Clip("chirp.wav", 16_000, "PCM_16", log_chirp,
             "numpy: logarithmic sine sweep 50 Hz -> 7900 Hz over 3 s, amplitude 0.5, 10 ms linear fades",
             "Logarithmic sine sweep 50 Hz to 7.9 kHz, 3 s, 16 kHz",
             "对数正弦扫频 50 Hz 到 7.9 kHz，3 秒，16 kHz"),
        Clip("tone_8k.wav", 8_000, "PCM_16", two_tones,
             "numpy: 440 Hz for 1 s then 660 Hz for 1 s (phase-continuous), amplitude 0.5, 10 ms linear fades",
             "440 Hz then 660 Hz tone, 1 s each, 8 kHz",
             "先 440 Hz 后 660 Hz 的纯音，各 1 秒，8 kHz"),
        Clip("tones_48k.flac", 48_000, "PCM_24", tones_and_noise,
             f"numpy: 0.3·sin(1 kHz) + 0.3·sin(5 kHz) + Gaussian white noise (sigma 0.01, "
             f"`np.random.default_rng({NOISE_SEED})`), 20 ms linear fades",
             f"1 kHz + 5 kHz tones with light white noise (seed {NOISE_SEED}), 48 kHz, 24-bit FLAC",
             f"1 kHz 与 5 kHz 纯音叠加轻微白噪声（种子 {NOISE_SEED}），48 kHz，24 位 FLAC"),
    ]  # fmt: skip


# --- writing, describing, checking ----------------------------------------------------------


def write_clip(clip: Clip) -> dict:
    """Synthesize and write ``clip``; its manifest entry, read back from the file."""
    path = HERE / clip.file
    sf.write(str(path), clip.make(), clip.rate, subtype=clip.subtype)
    info = sf.info(str(path))
    return {
        "file": clip.file,
        "sample_rate": info.samplerate,
        "num_channels": info.channels,
        "num_frames": info.frames,
        "duration_s": round(info.frames / info.samplerate, 3),
        "subtype": info.subtype,
        "description_en": clip.description_en,
        "description_zh": clip.description_zh,
    }


def check(entry: dict) -> None:
    """Raise if the written file breaks its manifest entry or our limits (peak, duration, silence)."""
    x, rate = sf.read(str(HERE / entry["file"]), dtype="float64", always_2d=True)
    facts = (rate, x.shape[1], x.shape[0])
    assert facts == (entry["sample_rate"], entry["num_channels"], entry["num_frames"]), (entry["file"], facts)
    assert np.abs(x).max() <= 0.99, (entry["file"], "peak", np.abs(x).max())
    assert 1.0 <= x.shape[0] / rate <= 8.0, (entry["file"], "duration", x.shape[0] / rate)
    assert np.sqrt((x**2).mean()) > 0.01, (entry["file"], "silent")


def espeak_version() -> str:
    """``espeak-ng --version``'s first words (no data path)."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    return out.split("  Data at")[0].strip()


def markdown(entries: list[dict], clips: list[Clip]) -> str:
    """``MANIFEST.md``: provenance note, regeneration command and one table row per file."""
    how = {c.file: c.how for c in clips}
    rows = [
        f"| `{e['file']}` | {e['sample_rate']} | {e['num_channels']} | {e['num_frames']} | {e['duration_s']:.3f} | "
        f"{Path(e['file']).suffix[1:].upper()} {e['subtype']} | {e['bytes']} | {how[e['file']]} |"
        for e in entries
    ]
    total = sum(e["bytes"] for e in entries)
    return "\n".join([
        "# Example audio",
        "",
        "Every clip here is our own synthesis; none is a recording or third-party audio. Speech comes from",
        "espeak-ng (GPL-3 software; the audio it writes is ours to use), everything else from numpy formulas",
        f"with fixed parameters and a fixed seed ({NOISE_SEED}). Regenerate all of them, plus `manifest.json`",
        "(read by the app's Examples lists and checked by `tests/unit/test_examples.py`) and this file, with:",
        "",
        "```bash",
        ".venv/bin/python examples/make_examples.py",
        "```",
        "",
        "The output is byte-identical on reruns with the same tool versions; this run used",
        f"{espeak_version()}, libsndfile {sf.__libsndfile_version__}, numpy {np.__version__}, "
        f"torch {torch.__version__}.",
        "Mandarin uses the first of the voices " + ", ".join(f"`{v}`" for v in ZH_VOICES) + " that reads hanzi as",
        "Mandarin: espeak-ng 1.51's `cmn` reads them as English-spelled pinyin (espeak-ng issue #1236).",
        "",
        "| file | sample rate (Hz) | channels | frames | duration (s) | encoding | bytes | how it was made |",
        "|---|---:|---:|---:|---:|---|---:|---|",
        *rows,
        "",
        f"Total: {total} bytes.",
        "",
    ])  # fmt: skip


def main() -> None:
    """Write every clip, ``manifest.json`` and ``MANIFEST.md``, then check them."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed for the speech clips (apt-get install espeak-ng)")
    clips = speech_clips(pick_voice(ZH_VOICES, ZH_TEXT)) + synth_clips()
    entries = [write_clip(c) for c in clips]
    for entry in entries:
        check(entry)
    (HERE / "manifest.json").write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    sized = [{**e, "bytes": (HERE / e["file"]).stat().st_size} for e in entries]
    assert sum(e["bytes"] for e in sized) < MAX_TOTAL_BYTES, "examples too large"
    (HERE / "MANIFEST.md").write_text(markdown(sized, clips), encoding="utf-8")
    for e in sized:
        print(f"{e['file']:<18} {e['sample_rate']:>6} Hz {e['num_channels']} ch {e['duration_s']:.3f} s {e['bytes']} B")


if __name__ == "__main__":
    main()
