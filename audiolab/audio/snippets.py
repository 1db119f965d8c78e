"""The torchaudio code that reproduces each result, as text for the "Code" panels.

Every snippet is plain Python that runs as is once the file names exist; tests execute
them and compare with the app's results.
"""

from __future__ import annotations


def info_snippet(path: str = "input.wav") -> str:
    """Code that prints a file's metadata (``torchaudio.info`` was removed in 2.9)."""
    return f"""\
from torchcodec.decoders import AudioDecoder  # torchaudio.info() was removed in torchaudio 2.9

metadata = AudioDecoder({path!r}).metadata
print(metadata.sample_rate, metadata.num_channels, metadata.codec, metadata.duration_seconds_from_header)
"""


def load_snippet(
    path: str = "input.wav",
    *,
    frame_offset: int = 0,
    num_frames: int = -1,
    target_rate: int | None = None,
    out_path: str | None = None,
) -> str:
    """Code that loads, slices, resamples and saves like the Audio tab; ends with
    ``waveform`` ``(channel, time)`` and ``sample_rate`` defined."""
    lines = [
        "import torchaudio",
        "import torchaudio.transforms as T",
        "",
        f"waveform, sample_rate = torchaudio.load({path!r}, frame_offset={frame_offset}, num_frames={num_frames})",
        "# waveform: float32 tensor shaped (channel, time), values in [-1, 1]",
    ]
    if target_rate:
        lines += [
            f"if sample_rate != {target_rate}:",
            f"    waveform = T.Resample(sample_rate, {target_rate})(waveform)",
            f"    sample_rate = {target_rate}",
        ]
    if out_path:
        lines.append(f"torchaudio.save({out_path!r}, waveform, sample_rate)")
    return "\n".join(lines) + "\n"
