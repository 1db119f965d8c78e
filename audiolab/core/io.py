"""Audio in and out: bounded decoding, metadata (``info``), slicing, resampling, encoding.

Decoding uses torchcodec (what ``torchaudio.load`` calls since 2.9) and falls back to
soundfile (libsndfile) when FFmpeg is missing or cannot open the file. Every decode is
bounded by :mod:`audiolab.core.limits`: at most ``max_frames`` frames are ever decoded, so a
tiny file that claims (or holds) hours of audio never allocates gigabytes.
"""

from __future__ import annotations

import inspect
import io
import logging
import math
import os
import sys
import threading
import types
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import torch

from audiolab.core import cache, limits
from audiolab.core.errors import AudioLabError

_TORCHCODEC_IMPORT = threading.Lock()

log = logging.getLogger(__name__)

Source = str | os.PathLike | bytes

_SF_BITS = {
    "PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32,
    "FLOAT": 32, "DOUBLE": 64, "ULAW": 8, "ALAW": 8,
}  # fmt: skip
_SF_ENCODING = {
    "PCM_S8": "PCM_S", "PCM_U8": "PCM_U", "PCM_16": "PCM_S", "PCM_24": "PCM_S",
    "PCM_32": "PCM_S", "FLOAT": "PCM_F", "DOUBLE": "PCM_F", "ULAW": "ULAW", "ALAW": "ALAW",
    "VORBIS": "VORBIS", "OPUS": "OPUS", "MPEG_LAYER_III": "MP3",
}  # fmt: skip
SF_CODECS = {  # libsndfile (format, subtype) -> the codec name FFmpeg (torchcodec, ffprobe) reports
    ("WAV", "PCM_16"): "pcm_s16le", ("WAV", "PCM_24"): "pcm_s24le", ("WAV", "PCM_32"): "pcm_s32le",
    ("WAV", "FLOAT"): "pcm_f32le", ("WAV", "DOUBLE"): "pcm_f64le", ("WAV", "PCM_U8"): "pcm_u8",
    ("WAVEX", "PCM_16"): "pcm_s16le", ("WAVEX", "PCM_24"): "pcm_s24le", ("WAVEX", "PCM_32"): "pcm_s32le",
    ("WAVEX", "FLOAT"): "pcm_f32le", ("WAVEX", "DOUBLE"): "pcm_f64le", ("WAVEX", "PCM_U8"): "pcm_u8",
    ("FLAC", "PCM_S8"): "flac", ("FLAC", "PCM_16"): "flac", ("FLAC", "PCM_24"): "flac",
    ("OGG", "VORBIS"): "vorbis", ("OGG", "OPUS"): "opus",
}  # fmt: skip
_MAGIC = [
    (b"RIFF", 0, "wav"), (b"RF64", 0, "wav"), (b"fLaC", 0, "flac"), (b"OggS", 0, "ogg"),
    (b"ID3", 0, "mp3"), (b"FORM", 0, "aiff"), (b"ftyp", 4, "mp4"),
    (b"\x1a\x45\xdf\xa3", 0, "matroska/webm"), (b"caff", 0, "caf"),
]  # fmt: skip


@dataclass
class AudioInfo:
    """What ``torchaudio.info`` printed (2.0), plus codec, container and duration."""

    sample_rate: int
    num_frames: int
    num_channels: int
    bits_per_sample: int
    encoding: str
    codec: str = ""
    container: str = ""
    duration_s: float = 0.0
    bit_rate: int = 0

    def as_dict(self) -> dict:
        """Plain ``dict`` for JSON and tables."""
        return asdict(self)

    def torchaudio_repr(self) -> str:
        """The line ``print(torchaudio.info(path))`` gave in torchaudio 2.0."""
        return (
            f"AudioMetaData(sample_rate={self.sample_rate}, num_frames={self.num_frames}, "
            f"num_channels={self.num_channels}, bits_per_sample={self.bits_per_sample}, "
            f"encoding={self.encoding})"
        )


@dataclass
class Decoded:
    """A decoded clip: ``waveform`` float32 ``(channel, time)`` in [-1, 1], rate in Hz."""

    waveform: torch.Tensor
    sample_rate: int
    info: AudioInfo
    frame_offset: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Length of ``waveform`` in seconds."""
        return self.waveform.shape[-1] / self.sample_rate


# --- reading the source -------------------------------------------------------------------


def read_source(source: Source) -> bytes | str:
    """Return ``bytes`` as is, or a path checked to exist, be non-empty and not too big."""
    if isinstance(source, (bytes, bytearray)):
        size = len(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise AudioLabError(
                "No audio file was given, or the file no longer exists.", zh="没有提供音频文件，或文件已不存在。"
            )
        size = path.stat().st_size
        source = str(path)
    if size == 0:
        raise AudioLabError("The file is empty (0 bytes).", zh="文件为空（0 字节）。")
    if size > limits.MAX_FILE_BYTES:
        raise AudioLabError(
            f"The file is {size / 2**20:.1f} MB; the limit is {limits.MAX_FILE_BYTES / 2**20:.0f} MB.",
            zh=f"文件大小为 {size / 2**20:.1f} MB；上限为 {limits.MAX_FILE_BYTES / 2**20:.0f} MB。",
        )
    return bytes(source) if isinstance(source, bytearray) else source


def _size(source: bytes | str) -> int:
    """Size of the file (path or bytes) in bytes."""
    return len(source) if isinstance(source, bytes) else Path(source).stat().st_size


def _head(source: bytes | str, n: int = 16) -> bytes:
    if isinstance(source, bytes):
        return source[:n]
    with open(source, "rb") as f:
        return f.read(n)


def sniff_container(source: bytes | str) -> str:
    """Container name from the file's magic bytes (``"wav"``, ``"flac"``, ...), or ``""``."""
    head = _head(source)
    for magic, offset, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if name == "wav" and head[8:12] != b"WAVE":
                return "riff"  # e.g. AVI
            return name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mp3" if head[1] & 0x06 else "aac"
    return ""


def _sf_file(source: bytes | str):
    return io.BytesIO(source) if isinstance(source, bytes) else source


def _sf_info(source: bytes | str):
    try:
        return sf.info(_sf_file(source))
    except Exception:  # noqa: BLE001 - libsndfile raises several types for unknown data
        return None


def import_torchcodec() -> None:
    """Import torchcodec's decoders and encoders without importing ``torch._dynamo``.

    torchcodec's import only calls ``torch._dynamo.disallow_in_graph`` on four ops (so that
    ``torch.compile`` leaves them alone), and that loads all of ``torch._dynamo``: 1.2-3.4 s on
    2 cores, most of a first request's time. Nothing here is compiled, so while torchcodec
    imports, ``torch._dynamo`` is a stand-in whose ``disallow_in_graph`` returns the op as
    is; afterwards ``torch._dynamo`` imports for real on first use. Each of its 41 fake-op
    registrations also notes its caller's ``file:line`` through ``inspect.getframeinfo``, which
    reads the source file (0.1 s in all); :func:`_caller_source` gives the same text from the frame.
    They also find the caller's module with ``inspect.getmodule``, which first maps the files of all
    ~3,000 loaded modules (0.07 s); :class:`_FrameModule` reads it from the frame's globals.
    Raises what the import raises.
    """
    if "torchcodec.encoders" in sys.modules:
        return
    with _TORCHCODEC_IMPORT:
        stand_in = "torch._dynamo" not in sys.modules and "_dynamo" not in vars(torch)
        if stand_in:
            torch._dynamo = types.SimpleNamespace(disallow_in_graph=lambda op: op)
        get_source, torch._library.utils.get_source = torch._library.utils.get_source, _caller_source
        torch.library.inspect = _FrameModule()
        try:
            import torchcodec.decoders
            import torchcodec.encoders  # noqa: F401
        finally:
            torch._library.utils.get_source = get_source
            torch.library.inspect = inspect
            if stand_in and not isinstance(vars(torch).get("_dynamo"), types.ModuleType):
                del torch._dynamo


class _FrameModule:
    """The ``inspect`` module, but ``getmodule`` of a frame is the module named in its globals."""

    @staticmethod
    def getmodule(obj, _filename=None):
        if isinstance(obj, types.FrameType) and _filename is None:
            module = sys.modules.get(obj.f_globals.get("__name__", ""))
            if module is not None and getattr(module, "__file__", None) == obj.f_code.co_filename:
                return module
        return inspect.getmodule(obj, _filename)

    def __getattr__(self, name: str):
        return getattr(inspect, name)


def _caller_source(stacklevel: int) -> str:
    """``torch._library.utils.get_source``: ``"path/to/file.py:42"`` of the caller ``stacklevel`` up,
    from the frame alone (the file is not read)."""
    frame = sys._getframe(stacklevel)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _torchcodec_decoder(source: bytes | str):
    """A torchcodec ``AudioDecoder`` for the source, or ``None`` if it cannot open it."""
    try:
        import_torchcodec()
        from torchcodec.decoders import AudioDecoder
    except Exception as err:  # noqa: BLE001 - missing FFmpeg libraries raise RuntimeError/OSError
        log.warning("torchcodec unavailable (%s); using soundfile", err)
        return None
    try:
        return AudioDecoder(source)
    except Exception as err:  # noqa: BLE001
        log.info("torchcodec cannot open the source: %s", err)
        return None


def _codec_bits(codec: str) -> int:
    """Bits per sample from an FFmpeg PCM codec name (``pcm_s24le`` -> 24), else 0."""
    if codec.startswith("pcm_"):
        digits = "".join(c for c in codec[5:] if c.isdigit())
        if digits:
            return int(digits)
        if codec in ("pcm_mulaw", "pcm_alaw"):
            return 8
    return 0


def _codec_encoding(codec: str) -> str:
    """torchaudio 2.0's encoding name for an FFmpeg codec name."""
    if codec.startswith("pcm_"):
        kind = codec[4]
        return {"s": "PCM_S", "u": "PCM_U", "f": "PCM_F"}.get(
            kind, {"pcm_mulaw": "ULAW", "pcm_alaw": "ALAW"}.get(codec, codec.upper())
        )
    return {"vorbis": "VORBIS", "libvorbis": "VORBIS", "opus": "OPUS", "mp3": "MP3"}.get(codec, codec.upper())


def _info_from(source: bytes | str, decoder, sfinfo) -> AudioInfo:
    container = sniff_container(source)
    if decoder is not None:
        md = decoder.metadata
        rate, channels = int(md.sample_rate or 0), int(md.num_channels or 0)
        codec = md.codec or ""
        duration = float(md.duration_seconds_from_header or md.duration_seconds or 0.0)
        bits, encoding = _codec_bits(codec), _codec_encoding(codec)
        bit_rate = int(md.bit_rate or 0)
    else:
        rate, channels = int(sfinfo.samplerate), int(sfinfo.channels)
        codec, duration, bit_rate = sfinfo.subtype.lower(), float(sfinfo.duration), 0
        bits, encoding = 0, sfinfo.subtype
        container = container or sfinfo.format.lower()
    frames = round(duration * rate)
    if sfinfo is not None and 0 < sfinfo.frames < 2**40 and sfinfo.samplerate == rate:
        frames = int(sfinfo.frames)  # exact count from the header
        duration = frames / rate if rate else duration
        bits = _SF_BITS.get(sfinfo.subtype, bits)
        encoding = _SF_ENCODING.get(sfinfo.subtype, encoding)
    if encoding == "FLAC" or codec == "flac":
        encoding = "FLAC"
    if not bit_rate and duration > 0:  # the container does not say (FLAC, WAV): the average over the file
        bit_rate = round(_size(source) * 8 / duration)
    return AudioInfo(rate, frames, channels, bits, encoding, codec, container, duration, bit_rate)


def _wav_byte_rate(source: bytes | str) -> int | None:
    """The ``fmt `` chunk's average bytes per second of a RIFF/WAVE file (what FFmpeg reports, x 8,
    as the bit rate), or ``None`` if it does not start within the first 64 KiB. Reads only the
    chunk headers on the way (a few small reads, not the file)."""
    with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as f:
        at = 12
        while at + 8 <= 65_536:
            f.seek(at)
            header = f.read(8)
            if len(header) < 8:
                return None
            size = int.from_bytes(header[4:8], "little")
            if header[:4] == b"fmt ":
                body = f.read(12)
                return int.from_bytes(body[8:12], "little") if size >= 12 and len(body) == 12 else None
            at += 8 + size + (size & 1)
    return None


def _libsndfile_info(source: bytes | str, sfinfo) -> AudioInfo | None:
    """:class:`AudioInfo` as torchcodec gives it, for the files libsndfile alone reads as torchcodec
    would: PCM or float WAV and FLAC, whose samples both decode bit for bit the same (tested), with
    a header that holds all of FFmpeg's metadata (the WAV bit rate is the fmt chunk's); ``None`` for
    any other file. libsndfile opens these in microseconds; FFmpeg probes the stream first (5 ms for
    3 s of WAV)."""
    if sfinfo is None or sfinfo.format == "OGG" or not 0 < sfinfo.frames < 2**40:
        return None
    codec = SF_CODECS.get((sfinfo.format, sfinfo.subtype))
    byte_rate = _wav_byte_rate(source) if codec not in (None, "flac") else 0
    if codec is None or byte_rate is None:
        return None
    info = _info_from(source, None, sfinfo)  # libsndfile's header, FFmpeg's codec name and WAV bit rate
    encoding = "FLAC" if codec == "flac" else info.encoding
    return replace(info, codec=codec, encoding=encoding, bit_rate=8 * byte_rate or info.bit_rate)


def _open(source: Source):
    """Read, then open with torchcodec and soundfile; refuse what neither can read. Returns the data,
    the torchcodec decoder (``None`` for WAV and FLAC that libsndfile reads exactly, see
    :func:`_libsndfile_info`), libsndfile's info and the file's :class:`AudioInfo`."""
    data = read_source(source)
    container = sniff_container(data)
    sfinfo = _sf_info(data)
    exact = _libsndfile_info(data, sfinfo)
    decoder = None if exact else _torchcodec_decoder(data)
    if decoder is None and sfinfo is None:
        what = {
            "riff": "a RIFF file that is not WAV (e.g. AVI)",
            "mp4": "an MP4 file without an audio track",
            "matroska/webm": "a WebM/Matroska file without an audio track",
        }.get(container, "")
        raise AudioLabError(
            "Could not read this file as audio"
            + (f": it is {what}." if what else ": the format is not recognised or the file is corrupt."),
            zh="无法将此文件读取为音频" + (f"：它是{what}。" if what else "：无法识别格式，或文件已损坏。"),
        )
    return data, decoder, sfinfo, exact or _info_from(data, decoder, sfinfo)


def info(source: Source) -> AudioInfo:
    """Metadata of an audio file (path or bytes) without decoding its samples.

    Replaces ``torchaudio.info`` (removed in torchaudio 2.9): ``sample_rate`` (Hz),
    ``num_frames``, ``num_channels``, ``bits_per_sample`` (0 for lossy codecs),
    ``encoding`` (``PCM_S``, ``PCM_F``, ``FLAC``, ``MP3``, ``VORBIS``, ...), plus ``codec``,
    ``container``, ``duration_s`` and ``bit_rate`` (bit/s: the container's, else file size x 8 / duration).
    """
    return _open(source)[3]


# --- decoding -----------------------------------------------------------------------------


def decode(
    source: Source,
    *,
    frame_offset: int = 0,
    num_frames: int = -1,
    max_seconds: float | None = None,
    max_samples: int | None = None,
) -> Decoded:
    """Decode ``num_frames`` frames from ``frame_offset`` (-1: to the end), bounded.

    Seeks where the container allows instead of decoding from the start. At most
    :func:`limits.max_frames` frames are decoded (a tab passes its own smaller ``max_seconds``
    and ``max_samples``, channel x time, so it never decodes what it would cut); longer
    requests are cut and say so in ``notes``. Returns float32 ``(channel, time)`` in [-1, 1]:
    non-finite samples become 0 and clipping float audio is scaled down, each with a note.
    """
    frame_offset = int(limits.check_number("frame_offset", frame_offset, 0, 2**40, integer=True))
    num_frames = int(limits.check_number("num_frames", num_frames, -1, 2**40, integer=True))
    data, decoder, sfinfo, meta = _open(source)
    limits.check_sample_rate(meta.sample_rate)
    limits.check_channels(meta.num_channels)
    cap = limits.max_frames(meta.sample_rate, meta.num_channels, max_seconds, max_samples)
    notes: list[str] = []
    want = cap if num_frames < 0 else min(num_frames, cap)
    if num_frames == 0:
        raise AudioLabError(
            "num_frames is 0: nothing to decode. Use -1 for 'to the end'.",
            zh="num_frames 为 0：没有要解码的内容。用 -1 表示“直到结尾”。",
        )
    if meta.num_frames and frame_offset >= meta.num_frames:
        raise AudioLabError(
            f"frame_offset={frame_offset} is past the end of the audio ({meta.num_frames} frames).",
            zh=f"frame_offset={frame_offset} 超出了音频结尾（共 {meta.num_frames} 帧）。",
        )
    waveform = None
    if decoder is not None:
        waveform = _decode_torchcodec(decoder, meta.sample_rate, frame_offset, want)
    if waveform is None and sfinfo is not None:
        waveform = _decode_soundfile(data, frame_offset, want)
    if waveform is None:
        raise AudioLabError(
            "Could not decode the audio: the file is corrupt or truncated.", zh="无法解码音频：文件已损坏或被截断。"
        )
    if waveform.shape[-1] == 0:
        raise AudioLabError(
            "The file has no audio samples (0 frames) in the requested range.",
            zh="文件在所请求的范围内没有音频采样（0 帧）。",
        )
    if (num_frames < 0 or num_frames > cap) and _was_cut(meta, sfinfo, frame_offset, cap, waveform.shape[-1]):
        seconds, samples = limits.decode_bounds(max_seconds, max_samples)
        notes.append(
            f"Only the first {cap / meta.sample_rate:.3g} s were loaded "
            f"(limit {seconds:g} s / {samples:,} samples across channels)."
        )
    waveform = sanitize(waveform, notes)
    return Decoded(waveform, meta.sample_rate, meta, frame_offset, notes)


def _was_cut(meta: AudioInfo, sfinfo, frame_offset: int, cap: int, decoded: int) -> bool:
    """Whether the audio after ``frame_offset`` holds more than the ``cap`` frames decoded.

    With an exact frame count in the header (WAV, FLAC, ...) that is a comparison; with a duration
    estimated from the header (MP3, ...) only more than half a second beyond the cap counts; with
    no length at all, a decode that filled the cap counts."""
    if sfinfo is not None and 0 < sfinfo.frames < 2**40 and sfinfo.samplerate == meta.sample_rate:
        return meta.num_frames - frame_offset > cap
    if meta.duration_s > 0:
        return meta.duration_s * meta.sample_rate - frame_offset > cap + meta.sample_rate // 2
    return decoded >= cap


def _decode_torchcodec(decoder, rate: int, offset: int, frames: int) -> torch.Tensor | None:
    """Decode ``frames`` frames from ``offset`` with torchcodec, chunk by chunk into one
    preallocated tensor (peak memory ~ the result, not 3x it); ``None`` on failure."""
    begin = float(decoder.metadata.begin_stream_seconds or 0.0)
    channels = int(decoder.metadata.num_channels or 1)
    out = torch.empty(channels, frames, dtype=torch.float32)
    filled = 0
    step = max(1, limits.DECODE_CHUNK_SAMPLES // channels)
    try:
        while filled < frames:
            n = min(step, frames - filled)
            start = begin + (offset + filled) / rate
            chunk = decoder.get_samples_played_in_range(start, start + n / rate).data
            got = min(chunk.shape[-1], n)
            out[:, filled : filled + got] = chunk[:, :got]
            filled += got
            if got == 0 or n - got > rate // 10:  # end of stream (codecs may end a range a frame early)
                break
    except Exception as err:  # noqa: BLE001 - corrupt streams raise RuntimeError/ValueError; so does a range past the end
        if filled == 0:
            log.info("torchcodec decode failed: %s", err)
            return None
    return out[:, :filled]


def _decode_soundfile(data: bytes | str, offset: int, frames: int) -> torch.Tensor | None:
    """Decode with libsndfile (WAV/FLAC/OGG/MP3...); ``None`` on failure."""
    try:
        array, _ = sf.read(_sf_file(data), start=offset, frames=frames, dtype="float32", always_2d=True)
    except Exception as err:  # noqa: BLE001
        log.info("soundfile decode failed: %s", err)
        return None
    return torch.from_numpy(np.ascontiguousarray(array.T))


def sanitize(waveform: torch.Tensor, notes: list[str]) -> torch.Tensor:
    """Make ``waveform`` finite float32 in [-1, 1], appending a note for each fix.

    The common case costs one min/max pass and no extra memory: NaN and Inf propagate into
    the extremes, so the per-sample mask is only built when one is there.
    """
    waveform = waveform.to(torch.float32)
    if waveform.numel() == 0:
        return waveform
    low, high = torch.aminmax(waveform)
    if not (torch.isfinite(low) and torch.isfinite(high)):
        bad = torch.isnan(waveform) | torch.isinf(waveform)
        notes.append(f"{int(bad.sum())} NaN/Inf samples were replaced by 0.")
        waveform = waveform.masked_fill(bad, 0.0)
        low, high = torch.aminmax(waveform)
    peak = max(-float(low), float(high))
    if peak > 1.0:
        notes.append(f"Peak amplitude {peak:g} exceeds 1.0; the audio was scaled down by {peak:g}.")
        waveform = waveform / peak
    return waveform.contiguous()


# --- processing -----------------------------------------------------------------------------


def validate_waveform(waveform: torch.Tensor, sample_rate: int) -> None:
    """Check the engine's audio contract: float32 ``(channel, time)``, finite, rate in range."""
    if not isinstance(waveform, torch.Tensor) or waveform.ndim != 2:
        raise AudioLabError(
            "Audio must be a 2-D tensor shaped (channel, time).", zh="音频必须是形状为 (channel, time) 的二维张量。"
        )
    if waveform.dtype != torch.float32:
        raise AudioLabError(
            f"Audio must be float32, got {waveform.dtype}.", zh=f"音频必须是 float32，实际为 {waveform.dtype}。"
        )
    if waveform.shape[-1] == 0:
        raise AudioLabError("The audio has no samples.", zh="音频没有采样。")
    limits.check_sample_rate(int(sample_rate))
    limits.check_channels(waveform.shape[0])


def resample_plan(orig_freq: int, new_freq: int) -> tuple[int, int, str]:
    """Rates to build the resampler with, and a note if the source rate had to be rounded.

    A pair of coprime rates (16001 -> 16000 Hz) makes torchaudio's sinc kernel enormous;
    then the source rate is rounded to the nearest 100 Hz (a pitch error under 0.3%).
    """
    if limits.resample_kernel_size(orig_freq, new_freq) <= limits.MAX_RESAMPLE_KERNEL:
        return orig_freq, new_freq, ""
    rounded = max(100, round(orig_freq / 100) * 100)
    note = (
        f"Resampling {orig_freq} -> {new_freq} Hz exactly needs a huge filter; the source "
        f"rate was treated as {rounded} Hz (pitch off by {abs(rounded / orig_freq - 1) * 100:.3f}%)."
    )
    return rounded, new_freq, note


def resampler(orig_freq: int, new_freq: int, device: str | None = None):
    """The cached ``torchaudio.transforms.Resample(orig_freq, new_freq)`` on ``device``."""
    import torchaudio.transforms as T

    return cache.transform("Resample", (orig_freq, new_freq), lambda: T.Resample(orig_freq, new_freq), device)


def resample(waveform: torch.Tensor, orig_freq: int, new_freq: int, notes: list[str] | None = None):
    """Resample ``(channel, time)`` audio from ``orig_freq`` to ``new_freq`` Hz on the cache's device."""
    new_freq = int(limits.check_number("target sample rate", new_freq, limits.MIN_SAMPLE_RATE, 192_000, integer=True))
    if orig_freq == new_freq:
        return waveform
    src, dst, note = resample_plan(orig_freq, new_freq)
    if note and notes is not None:
        notes.append(note)
    out_frames = math.ceil(waveform.shape[-1] * new_freq / orig_freq)
    if out_frames * waveform.shape[0] > limits.MAX_TOTAL_SAMPLES:
        raise AudioLabError(
            f"Resampling to {new_freq} Hz would make {out_frames:,} frames per channel; "
            f"shorten the clip (limit {limits.MAX_TOTAL_SAMPLES:,} samples).",
            zh=(
                f"重采样到 {new_freq} Hz 会使每个声道有 {out_frames:,} 帧；请缩短音频（上限 "
                f"{limits.MAX_TOTAL_SAMPLES:,} 个采样点）。"
            ),
        )
    if src == dst:
        return waveform
    module = resampler(src, dst)
    with torch.no_grad():
        return resample_chunked(waveform, module).clamp_(-1.0, 1.0)


def resample_chunked(waveform: torch.Tensor, module) -> torch.Tensor:
    """``module(waveform)`` (a ``T.Resample``) computed a block of output frames at a time, on the CPU.

    torchaudio pads the whole input and convolves it at once (peak memory several times the
    input); here each block reads only its input span plus the kernel's reach, so the
    result is the same samples with at most ``RESAMPLE_CHUNK_SAMPLES`` of scratch.
    ``(channel, time)`` in, ``(channel, ceil(time * new / orig))`` out.
    """
    orig, new = module.orig_freq // module.gcd, module.new_freq // module.gcd
    kernel, width, device = module.kernel, module.width, module.kernel.device
    channels, length = waveform.shape
    out = torch.empty(channels, math.ceil(new * length / orig), dtype=waveform.dtype)
    step = max(1, limits.RESAMPLE_CHUNK_SAMPLES // (channels * orig))  # conv frames (new samples each) per block
    for first in range(0, length // orig + 1, step):
        last = min(first + step, length // orig + 1)
        lo, hi = first * orig - width, last * orig + width  # input span of these frames (kernel 2 w + orig)
        segment = waveform[:, max(lo, 0) : min(hi, length)].to(device)
        segment = torch.nn.functional.pad(segment, (max(-lo, 0), max(hi - length, 0)))
        block = torch.nn.functional.conv1d(segment[:, None], kernel, stride=orig).transpose(1, 2).reshape(channels, -1)
        start = first * new
        take = min(block.shape[-1], out.shape[-1] - start)
        out[:, start : start + take] = block[:, :take].cpu()
    return out


def for_playback(waveform: torch.Tensor, sample_rate: int, notes: list[str]) -> tuple[torch.Tensor, int]:
    """A browser-playable version of ``(channel, time)`` audio: at most 2 channels and 48 kHz."""
    if waveform.shape[0] > limits.PLAYER_MAX_CHANNELS:
        notes.append(f"The player has the first {limits.PLAYER_MAX_CHANNELS} of {waveform.shape[0]} channels.")
        waveform = waveform[: limits.PLAYER_MAX_CHANNELS]
    if sample_rate > limits.PLAYER_MAX_RATE:
        notes.append(f"The player is resampled to {limits.PLAYER_MAX_RATE} Hz; the download keeps {sample_rate} Hz.")
        waveform = resample(waveform, sample_rate, limits.PLAYER_MAX_RATE, notes)
        sample_rate = limits.PLAYER_MAX_RATE
    return waveform, sample_rate


# --- encoding -------------------------------------------------------------------------------

_SF_SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "PCM_32", "float": "FLOAT"}
ENCODE_BLOCK = 1 << 18  # frames written per block


def encode(
    waveform: torch.Tensor,
    sample_rate: int,
    fmt: str = "wav",
    *,
    bits: int | str = 16,
    bit_rate: int | None = None,
) -> bytes:
    """Encode ``(channel, time)`` float32 audio to WAV/FLAC/MP3/OGG bytes (see :func:`encode_into`)."""
    buf = io.BytesIO()
    encode_into(buf, waveform, sample_rate, fmt, bits=bits, bit_rate=bit_rate)
    return buf.getvalue()


def encode_into(
    file: BinaryIO,
    waveform: torch.Tensor,
    sample_rate: int,
    fmt: str = "wav",
    *,
    bits: int | str = 16,
    bit_rate: int | None = None,
) -> None:
    """Encode ``(channel, time)`` float32 audio into an open binary ``file``.

    WAV (16/24/32-bit integer or 32-bit ``"float"``) and FLAC (16/24-bit) use libsndfile
    for exact bit depths, written in blocks (no full-size copy); MP3 and OGG (Vorbis) use
    torchcodec's FFmpeg encoder, with libsndfile as the fallback when FFmpeg is missing.
    """
    fmt = str(limits.check_choice("format", fmt, limits.EXPORT_FORMATS))
    validate_waveform(waveform, sample_rate)
    if fmt in ("wav", "flac"):
        bits = limits.check_choice("bits per sample", bits, limits.WAV_BIT_DEPTHS)
        subtype = _SF_SUBTYPES[bits] if fmt == "wav" else ("PCM_24" if bits in (24, 32, "float") else "PCM_16")
        with sf.SoundFile(file, "w", sample_rate, waveform.shape[0], subtype, format=fmt.upper()) as out:
            for start in range(0, waveform.shape[-1], ENCODE_BLOCK):  # small copies, not one of it all
                out.write(waveform[:, start : start + ENCODE_BLOCK].T.numpy())
        return
    file.write(_encode_lossy(waveform, sample_rate, fmt, bit_rate))


def _encode_lossy(waveform: torch.Tensor, sample_rate: int, fmt: str, bit_rate: int | None) -> bytes:
    if fmt == "mp3" and sample_rate not in (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000):
        raise AudioLabError(
            f"MP3 cannot store {sample_rate} Hz audio; resample to 44100 or 48000 Hz first.",
            zh=f"MP3 无法保存 {sample_rate} Hz 的音频；请先重采样到 44100 或 48000 Hz。",
        )
    if fmt == "mp3" and waveform.shape[0] > 2:
        raise AudioLabError(
            f"MP3 holds at most 2 channels; this audio has {waveform.shape[0]}.",
            zh=f"MP3 最多保存 2 个声道；此音频有 {waveform.shape[0]} 个。",
        )
    try:
        import_torchcodec()
        from torchcodec.encoders import AudioEncoder

        encoded = AudioEncoder(waveform, sample_rate=sample_rate).to_tensor(fmt, bit_rate=bit_rate)
        return encoded.numpy().tobytes()
    except Exception as err:  # noqa: BLE001 - FFmpeg missing or encoder refused
        log.info("torchcodec encode failed (%s); trying soundfile", err)
    buf = io.BytesIO()
    subtype = "MPEG_LAYER_III" if fmt == "mp3" else "VORBIS"
    try:
        sf.write(buf, waveform.T.numpy(), sample_rate, format="MP3" if fmt == "mp3" else "OGG", subtype=subtype)
    except Exception as err:  # noqa: BLE001
        raise AudioLabError(f"Could not encode {fmt.upper()}: {err}", zh=f"无法编码为 {fmt.upper()}：{err}") from None
    return buf.getvalue()


def save(path: str | os.PathLike, waveform: torch.Tensor, sample_rate: int, **kwargs) -> Path:
    """Encode to the format named by ``path``'s suffix and write it; returns the path."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    with open(path, "wb") as file:
        encode_into(file, waveform, sample_rate, fmt, **kwargs)
    return path
