"""The block-wise versions of torchaudio operations (bounded memory) give torchaudio's numbers."""

from __future__ import annotations

import subprocess

import pytest
import torch
import torchaudio.functional as F
import torchaudio.transforms as T
from torchcodec.decoders import AudioDecoder

from audiolab.augment import compute as augment
from audiolab.core import io as aio
from audiolab.core import limits, plots
from tests import signals
from tests.fixtures import memory


@pytest.mark.parametrize(
    ("orig", "new", "length", "channels"),
    [(48_000, 16_000, 3_000_001, 1), (44_100, 16_000, 1_234_567, 2), (16_000, 44_100, 400_003, 3),
     (8_000, 48_000, 70_001, 1), (16_000, 22_050, 5, 1), (22_050, 16_000, 1, 1)],
)  # fmt: skip
def test_blockwise_resampling_equals_torchaudio_resample(orig, new, length, channels):
    x = torch.rand(channels, length, generator=torch.Generator().manual_seed(length)) - 0.5
    expected = T.Resample(orig, new)(x)
    got = aio.resample_chunked(x, aio.resampler(orig, new))
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-7, rtol=0)


def test_resampling_ten_million_samples_needs_about_the_output_plus_a_block():
    x = torch.rand(1, 10_000_000) - 0.5
    aio.resample(x[:, :100_000], 48_000, 16_000)  # the kernel is cached before measuring
    with memory.Peak() as peak:
        y = aio.resample(x, 48_000, 16_000)
    assert y.shape[-1] == 3_333_334
    output_mb = y.numel() * 4 / 2**20
    assert peak.megabytes < output_mb + 30, (peak.megabytes, output_mb)  # torchaudio: +150 MB


@pytest.mark.parametrize("length", [4_097, 5_000, 16_000, 100_001, 1_250_000])
@pytest.mark.parametrize(("n_fft", "hop"), [(1024, 256), (1024, 1024), (512, 2048), (1024, 4096), (1024, 300)])
def test_view_spectrogram_from_gathered_frames_equals_torchaudio_spectrogram(length, n_fft, hop):
    x = torch.rand(2, length, generator=torch.Generator().manual_seed(length)) - 0.5
    expected = T.AmplitudeToDB("power", top_db=80.0)(T.Spectrogram(n_fft=n_fft, hop_length=hop)(x))
    got = plots.spectrogram_db(x, n_fft, hop)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)


def test_centered_frames_are_torch_stft_frames():
    x = signals.chirp(seconds=0.5)[0]
    frames = plots.centered_frames(x, 512, 160)
    padded = torch.nn.functional.pad(x[None, None], (256, 256), mode="reflect")[0, 0]
    torch.testing.assert_close(frames, padded.unfold(0, 512, 160), atol=0, rtol=0)


@pytest.mark.parametrize(("n_freq", "frames", "rate"), [(257, 3000, 1.25), (257, 1001, 0.5), (129, 7, 2.0),
                                                       (513, 2049, 0.8123)])  # fmt: skip
@pytest.mark.parametrize("block", [7, limits.AUG_VOCODER_BLOCK_FRAMES, 100_000])
def test_blockwise_phase_vocoder_equals_torchaudio_phase_vocoder(n_freq, frames, rate, block):
    spec = torch.randn(2, n_freq, frames, dtype=torch.complex64, generator=torch.Generator().manual_seed(frames))
    advance = T.TimeStretch(hop_length=(n_freq - 1) // 2, n_freq=n_freq).phase_advance
    expected = F.phase_vocoder(spec, rate, advance)
    got = augment.phase_vocoder(spec, rate, advance, block)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_a_long_opus_stream_decodes_completely_in_blocks(tmp_path):
    path = tmp_path / "long.opus"
    source = "sine=frequency=440:sample_rate=48000:duration=50"
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", source, "-c:a", "libopus", str(path)]
    subprocess.run(cmd, check=True)
    whole = AudioDecoder(str(path)).get_all_samples().data
    d = aio.decode(path)
    assert d.waveform.shape[-1] >= whole.shape[-1] - 960 and not d.notes  # blocks of 1 M samples, none lost
    torch.testing.assert_close(d.waveform[:, :48_000], whole[:, :48_000])


def test_a_tab_limit_bounds_what_is_decoded_and_says_so(tmp_path):
    path = signals.write(tmp_path / "stereo.wav", signals.white_noise(16_000, 10.0, channels=2, amp=0.3), 16_000)
    d = aio.decode(path, max_seconds=4.0)
    assert d.waveform.shape == (2, 64_000) and "Only the first 4 s were loaded (limit 4 s" in d.notes[0]
    d = aio.decode(path, max_samples=50_000)
    assert d.waveform.shape == (2, 25_000) and "50,000 samples across channels" in d.notes[0]
