"""Audio I/O engine against torchaudio, torchcodec and soundfile references."""

from __future__ import annotations

import io
import subprocess

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
import torchaudio.transforms as T

from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from tests import signals


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-y", "-loglevel", "error", *args], check=True)


# --- info ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subtype", "bits", "encoding"),
    [("PCM_16", 16, "PCM_S"), ("PCM_24", 24, "PCM_S"), ("PCM_32", 32, "PCM_S"), ("FLOAT", 32, "PCM_F"),
     ("PCM_U8", 8, "PCM_U"), ("DOUBLE", 64, "PCM_F")],
)  # fmt: skip
def test_info_of_a_wav_matches_its_header(tmp_path, subtype, bits, encoding):
    path = signals.write(tmp_path / "a.wav", signals.sine(channels=2, seconds=0.75), 16_000, subtype=subtype)
    meta = aio.info(path)
    ref = sf.info(str(path))
    assert (meta.sample_rate, meta.num_frames, meta.num_channels) == (ref.samplerate, ref.frames, ref.channels)
    assert (meta.bits_per_sample, meta.encoding, meta.container) == (bits, encoding, "wav")
    assert meta.duration_s == pytest.approx(0.75)
    assert meta.torchaudio_repr() == (
        f"AudioMetaData(sample_rate=16000, num_frames=12000, num_channels=2, bits_per_sample={bits}, "
        f"encoding={encoding})"
    )


def test_info_of_flac_and_mp3_reports_codec_and_frames(tmp_path):
    wav = signals.write(tmp_path / "a.wav", signals.sine(seconds=2.0), 16_000, subtype="PCM_24")
    ffmpeg("-i", str(wav), "-c:a", "flac", str(tmp_path / "a.flac"))
    ffmpeg("-i", str(wav), "-b:a", "64k", str(tmp_path / "a.mp3"))
    flac = aio.info(tmp_path / "a.flac")
    assert (flac.encoding, flac.bits_per_sample, flac.num_frames, flac.container) == ("FLAC", 24, 32_000, "flac")
    mp3 = aio.info(tmp_path / "a.mp3")
    assert (mp3.encoding, mp3.codec, mp3.bits_per_sample, mp3.container) == ("MP3", "mp3", 0, "mp3")
    assert mp3.duration_s == pytest.approx(2.0, abs=0.1)
    assert mp3.bit_rate == 64_000


def test_info_reads_bytes_like_a_path(sine_wav):
    assert aio.info(sine_wav.read_bytes()) == aio.info(sine_wav)


# --- decode -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg"])
def test_decode_equals_torchaudio_load(tmp_path, stereo_wav, fmt):
    path = stereo_wav if fmt == "wav" else tmp_path / f"a.{fmt}"
    if fmt != "wav":
        ffmpeg("-i", str(stereo_wav), *(["-c:a", "libvorbis"] if fmt == "ogg" else []), str(path))
    ref, rate = torchaudio.load(str(path))
    got = aio.decode(path)
    assert got.sample_rate == rate
    assert got.waveform.dtype == torch.float32 and got.waveform.shape == ref.shape
    torch.testing.assert_close(got.waveform, ref, atol=0, rtol=0)


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3"])
def test_slicing_equals_the_same_frames_of_a_full_load(tmp_path, stereo_wav, fmt):
    path = stereo_wav if fmt == "wav" else tmp_path / f"a.{fmt}"
    if fmt != "wav":
        ffmpeg("-i", str(stereo_wav), str(path))
    full, _ = torchaudio.load(str(path))
    got = aio.decode(path, frame_offset=30_000, num_frames=12_345)
    assert got.waveform.shape == (2, 12_345)
    torch.testing.assert_close(got.waveform, full[:, 30_000:42_345], atol=1e-6, rtol=0)


def test_num_frames_past_the_end_returns_what_is_there(sine_wav):
    got = aio.decode(sine_wav, frame_offset=15_000, num_frames=5_000)
    ref, _ = sf.read(str(sine_wav), dtype="float32")
    np.testing.assert_array_equal(got.waveform[0].numpy(), ref[15_000:])


def test_frame_offset_past_the_end_is_a_clear_error(sine_wav):
    with pytest.raises(AudioLabError, match="past the end"):
        aio.decode(sine_wav, frame_offset=16_000)


def test_decode_without_ffmpeg_falls_back_to_soundfile(monkeypatch, stereo_wav):
    monkeypatch.setattr(aio, "_torchcodec_decoder", lambda source: None)
    ref, _ = sf.read(str(stereo_wav), dtype="float32", always_2d=True)
    got = aio.decode(stereo_wav, frame_offset=100, num_frames=1000)
    np.testing.assert_array_equal(got.waveform.numpy(), ref[100:1100].T)
    assert aio.info(stereo_wav).bits_per_sample == 24


def test_video_file_decodes_its_audio_track(tmp_path):
    out = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:rate=10:duration=1", "-f", "lavfi",
           "-i", "sine=frequency=440:sample_rate=16000:duration=1", "-shortest", "-c:v", "mpeg4",
           "-c:a", "aac", str(out))  # fmt: skip
    got = aio.decode(out)
    assert got.sample_rate == 16_000 and got.waveform.shape[0] == 1
    spectrum = torch.fft.rfft(got.waveform[0, 2000:14000]).abs()
    assert spectrum.argmax().item() * 16_000 / 12_000 == pytest.approx(440, abs=2)


def test_long_input_is_cut_at_the_duration_limit_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DURATION_S", 2.0)
    path = signals.write(tmp_path / "long.wav", signals.sine(seconds=5.0), 16_000)
    got = aio.decode(path)
    assert got.waveform.shape == (1, 32_000)
    assert any("Only the first 2 s" in n for n in got.notes)


def test_nan_inf_and_loud_float_samples_are_made_safe(tmp_path):
    x = signals.sine(seconds=0.5).clone() * 1000  # peak 500
    x[0, 10], x[0, 20] = float("nan"), float("inf")
    path = signals.write(tmp_path / "bad.wav", x, 16_000, subtype="FLOAT")
    got = aio.decode(path)
    assert torch.isfinite(got.waveform).all() and got.waveform.abs().max() <= 1.0
    assert got.waveform[0, 10] == 0 and got.waveform[0, 20] == 0
    expected = x[0, 100] / 500.0
    assert got.waveform[0, 100].item() == pytest.approx(expected.item(), rel=1e-5)
    assert len(got.notes) == 2


def test_thirty_two_channels_decode(tmp_path):
    x = torch.stack([signals.sine(100 + 50 * c, seconds=0.25)[0] for c in range(32)])
    path = signals.write(tmp_path / "c32.wav", x, 16_000)
    got = aio.decode(path)
    assert got.waveform.shape == (32, 4000)
    torch.testing.assert_close(got.waveform, x, atol=1 / 32768, rtol=0)


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "text": (b"hello, this is not audio at all " * 20, "Could not read"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(200), "Could not read"),
    "random": (np.random.default_rng(0).bytes(4000), "Could not read"),
    "avi": (b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(200), "not WAV"),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_non_audio_and_empty_files_get_a_clear_message(tmp_path, name):
    data, message = BAD_INPUTS[name]
    path = tmp_path / f"{name}.wav"
    path.write_bytes(data)
    with pytest.raises(AudioLabError, match=message):
        aio.decode(path)


def test_truncated_and_zero_frame_files_get_a_clear_message(tmp_path, sine_wav):
    zero = tmp_path / "zero.wav"
    sf.write(str(zero), np.zeros((0, 1), dtype="float32"), 16_000)
    with pytest.raises(AudioLabError, match="0 frames|Could not"):
        aio.decode(zero)
    truncated = tmp_path / "trunc.wav"
    truncated.write_bytes(sine_wav.read_bytes()[:30])  # header cut mid-way
    with pytest.raises(AudioLabError):
        aio.decode(truncated)


@pytest.mark.parametrize(("rate", "ok"), [(1, False), (999, False), (8000, True), (384_000, True), (16_001, True)])
def test_sample_rates_outside_the_limits_are_refused(tmp_path, rate, ok):
    path = signals.write(tmp_path / "r.wav", torch.zeros(1, max(rate // 10, 10)) + 0.1, rate)
    if ok:
        assert aio.decode(path).sample_rate == rate
    else:
        with pytest.raises(AudioLabError, match=f"{rate} Hz"):
            aio.decode(path)


def test_a_one_hour_silent_flac_decodes_in_bounded_memory(tmp_path):
    path = tmp_path / "hour.flac"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3600", "-c:a", "flac", str(path))
    assert path.stat().st_size < 2 * 2**20
    code = (
        "import resource, sys; from audiolab.core import io as aio\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"d = aio.decode({str(path)!r})\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(d.waveform.shape[-1], (peak - base) // 1024)\n"
    )
    out = subprocess.run([".venv/bin/python", "-c", code], capture_output=True, text=True, check=True)
    frames, extra_mb = map(int, out.stdout.split())
    assert frames == int(limits.MAX_DURATION_S * 16_000)
    assert extra_mb < 400  # 600 s x 16 kHz float32 is 38 MB; an unbounded decode would be 230+ MB more


# --- resample / encode -----------------------------------------------------------------


@pytest.mark.parametrize(("orig", "new"), [(44_100, 16_000), (16_000, 48_000), (8_000, 22_050)])
def test_resample_equals_torchaudio_transform(device, orig, new):
    x = signals.chirp(sample_rate=orig, seconds=0.5, f1=orig / 2 - 500)
    got = aio.resample(x, orig, new)
    ref = T.Resample(orig, new)(x)
    torch.testing.assert_close(got, ref.clamp(-1, 1), atol=1e-5, rtol=0)


def test_resampling_coprime_rates_is_approximated_with_a_note():
    x = signals.sine(440, 16_001, 0.5)
    notes: list[str] = []
    got = aio.resample(x, 16_001, 16_000, notes)
    assert got.shape[-1] == 8_000 and notes and "16000 Hz" in notes[0]
    peak_hz = torch.fft.rfft(got[0]).abs().argmax().item() * 16_000 / got.shape[-1]
    assert peak_hz == pytest.approx(440, rel=0.005)


@pytest.mark.parametrize(("bits", "subtype", "atol"), [(16, "PCM_16", 1 / 32768), (24, "PCM_24", 1e-6),
                                                      (32, "PCM_32", 1e-7), ("float", "FLOAT", 0)])  # fmt: skip
def test_wav_export_has_the_bit_depth_asked_for(bits, subtype, atol):
    x = signals.sine(channels=2, seconds=0.25)
    data = aio.encode(x, 16_000, "wav", bits=bits)
    assert sf.info(io.BytesIO(data)).subtype == subtype
    back, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    assert rate == 16_000
    np.testing.assert_allclose(back.T, x.numpy(), atol=atol + 1e-7)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "ogg"])
def test_compressed_exports_decode_back_to_the_same_tone(fmt):
    x = signals.sine(1000, 44_100, 1.0, channels=2)
    data = aio.encode(x, 44_100, fmt)
    meta = aio.info(data)
    assert (meta.sample_rate, meta.num_channels) == (44_100, 2)
    back = aio.decode(data).waveform
    if fmt == "flac":
        torch.testing.assert_close(back, x, atol=1 / 32768, rtol=0)
    else:  # lossy: same pitch and level
        mid = back[0, 10_000:30_000]
        assert torch.fft.rfft(mid).abs().argmax().item() * 44_100 / 20_000 == pytest.approx(1000, abs=3)
        assert mid.pow(2).mean().sqrt().item() == pytest.approx(0.5 / 2**0.5, rel=0.1)


def test_export_rejects_unknown_formats_and_depths():
    with pytest.raises(AudioLabError, match="Please choose one of: wav, flac, mp3, ogg"):
        aio.encode(signals.sine(), 16_000, "aiff")
    with pytest.raises(AudioLabError, match="bits per sample"):
        aio.encode(signals.sine(), 16_000, "wav", bits=12)


def test_the_player_gets_two_channels_at_48_khz_at_most():
    x = torch.cat([signals.sine(1000, 96_000, 0.5, channels=1)] * 4)
    notes: list[str] = []
    y, rate = aio.for_playback(x, 96_000, notes)
    assert rate == 48_000 and y.shape == (2, 24_000) and len(notes) == 2
    torch.testing.assert_close(y, T.Resample(96_000, 48_000)(x[:2]).clamp(-1, 1), atol=1e-5, rtol=0)
    same, rate = aio.for_playback(x[:1], 44_100, notes)
    assert rate == 44_100 and same is not None and same.shape == (1, 48_000) and len(notes) == 2


# --- WAV and FLAC through libsndfile alone ------------------------------------------------------

EXACT_FORMATS = [("WAV", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32"), ("WAV", "FLOAT"), ("WAV", "DOUBLE"),
                 ("WAV", "PCM_U8"), ("WAVEX", "PCM_16"), ("WAVEX", "FLOAT"), ("FLAC", "PCM_16"), ("FLAC", "PCM_24"),
                 ("FLAC", "PCM_S8")]  # fmt: skip


def _encoded(fmt: str, subtype: str, rate: int = 22_050, channels: int = 3) -> bytes:
    rng = np.random.default_rng(len(fmt + subtype))
    x = (rng.standard_normal((20_000, channels)) * 0.3).clip(-1, 1).astype(np.float32)
    x[:4] = 1.0  # full scale
    buf = io.BytesIO()
    sf.write(buf, x, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


@pytest.mark.parametrize(("fmt", "subtype"), EXACT_FORMATS)
def test_wav_and_flac_read_by_libsndfile_alone_equal_torchcodec_s_samples_and_metadata(fmt, subtype, monkeypatch):
    data = _encoded(fmt, subtype)
    sfinfo = aio._sf_info(data)
    decoder = aio._torchcodec_decoder(data)
    reference = aio._info_from(data, decoder, sfinfo)  # what torchcodec reports
    from_torchcodec = aio._decode_torchcodec(decoder, 22_050, 1234, 15_000)

    def no_torchcodec(_):
        raise AssertionError("torchcodec was opened")

    monkeypatch.setattr(aio, "_torchcodec_decoder", no_torchcodec)
    assert aio.info(data) == reference
    decoded = aio.decode(data, frame_offset=1234, num_frames=15_000)
    assert decoded.info == reference
    assert torch.equal(decoded.waveform, from_torchcodec)  # bit for bit


def test_a_wav_with_a_false_byte_rate_reports_ffmpeg_s_bit_rate_and_seeks_by_its_frames():
    data = bytearray(_encoded("WAV", "PCM_16"))
    at = data.find(b"fmt ") + 8 + 8  # the fmt chunk's average bytes per second
    data[at : at + 4] = (12_345).to_bytes(4, "little")
    data = bytes(data)
    assert aio.info(data).bit_rate == 8 * 12_345 == aio._info_from(data, aio._torchcodec_decoder(data), None).bit_rate
    x, _ = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    assert torch.equal(aio.decode(data, frame_offset=1000, num_frames=500).waveform, torch.from_numpy(x[1000:1500].T))


def test_the_byte_rate_is_found_after_other_chunks_and_others_go_to_torchcodec():
    data = _encoded("WAV", "PCM_16", rate=8000, channels=1)
    junk = b"JUNK" + (5).to_bytes(4, "little") + b"12345\x00"  # an odd-sized chunk and its pad byte
    moved = data[:12] + junk + data[12:]
    moved = moved[:4] + (len(moved) - 8).to_bytes(4, "little") + moved[8:]
    assert aio._wav_byte_rate(moved) == aio._wav_byte_rate(data) == 8000 * 2
    assert aio._wav_byte_rate(data[:20]) is None  # no whole fmt chunk
    for fmt, subtype in [("WAV", "ULAW"), ("OGG", "VORBIS")]:
        assert aio._libsndfile_info(_encoded(fmt, subtype), aio._sf_info(_encoded(fmt, subtype))) is None
