"""The Audio tab's endpoints, called by name through gradio_client on the launched app."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio
import torchaudio.transforms as T
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from audiolab.core import io as aio
from tests import signals


def test_info_endpoint_matches_the_file_header(client, stereo_wav):
    meta = client.predict(handle_file(str(stereo_wav)), api_name="/info")
    ref = sf.info(str(stereo_wav))
    assert meta["sample_rate"] == ref.samplerate and meta["num_frames"] == ref.frames
    assert meta["num_channels"] == 2 and meta["bits_per_sample"] == 24 and meta["encoding"] == "PCM_S"


def test_load_audio_slices_resamples_and_exports_like_torchaudio(client, stereo_wav):
    table, notes, wave, spec, player, exported, code, meta = client.predict(
        handle_file(str(stereo_wav)), 1000, 22_050, "16000", "flac", "24", api_name="/load_audio"
    )
    full, rate = torchaudio.load(str(stereo_wav))
    expected = T.Resample(rate, 16_000)(full[:, 1000:23_050])
    got, got_rate = sf.read(exported, dtype="float32", always_2d=True)
    assert got_rate == 16_000 and sf.info(exported).subtype == "PCM_24"
    np.testing.assert_allclose(got.T, expected.numpy(), atol=2e-6)
    played, _ = sf.read(player, dtype="float32", always_2d=True)
    np.testing.assert_allclose(played.T, expected.numpy(), atol=1 / 32768 + 1e-6)
    assert meta["sample_rate"] == 44_100 and ["loaded", "22050 frames from 1000 (0.500 s)"] in table["data"]
    assert "Resampled from 44100 Hz to 16000 Hz: the result and the download are at 16000 Hz." in notes  # #19
    assert wave.endswith(".png") and spec.endswith(".png")


def test_the_code_panel_reproduces_the_exported_audio(client, stereo_wav, tmp_path, monkeypatch):
    *_, exported, code, _ = client.predict(
        handle_file(str(stereo_wav)), 500, 8000, "22050", "wav", "float", api_name="/load_audio"
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / stereo_wav.name).write_bytes(stereo_wav.read_bytes())
    scope: dict = {}
    exec(code, scope)
    got, _ = sf.read(exported, dtype="float32", always_2d=True)
    torch.testing.assert_close(torch.from_numpy(got.T.copy()), scope["waveform"], atol=1e-6, rtol=0)
    assert scope["sample_rate"] == 22_050


def test_bad_input_gets_a_clear_message_and_the_app_keeps_serving(client, tmp_path, sine_wav):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is a text file renamed to .wav\n" * 10)
    with pytest.raises(AppError, match="Could not read this file as audio"):
        client.predict(handle_file(str(bogus)), 0, -1, "original", "wav", "16", api_name="/load_audio")
    with pytest.raises(AppError, match=r"frame_offset=-5 is out of range: allowed 0 to"):  # names the field
        client.predict(handle_file(str(sine_wav)), -5, -1, "original", "wav", "16", api_name="/load_audio")
    with pytest.raises(AppError, match="past the end"):
        client.predict(handle_file(str(sine_wav)), 99_999, -1, "original", "wav", "16", api_name="/load_audio")
    assert client.predict(handle_file(str(sine_wav)), api_name="/info")["num_frames"] == 16_000


def test_load_url_refuses_internal_addresses(client):
    with pytest.raises(AppError, match="private, local or reserved"):
        client.predict("http://127.0.0.1:7860/gradio_api/info", api_name="/load_url")


def test_a_nan_float_wav_loads_as_finite_audio(client, tmp_path):
    x = signals.sine(seconds=0.25).clone()
    x[0, 5] = float("nan")
    path = signals.write(tmp_path / "nan.wav", x, 16_000, subtype="FLOAT")
    _, notes, *_, exported, _, _ = client.predict(
        handle_file(str(path)), 0, -1, "original", "wav", "float", api_name="/load_audio"
    )
    assert "NaN/Inf" in notes
    got = aio.decode(exported).waveform
    assert torch.isfinite(got).all() and got[0, 5] == 0
