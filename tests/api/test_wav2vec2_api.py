"""The wav2vec2 tab's endpoints, called by name on the launched app with a tiny local model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchaudio.functional as F
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from audiolab.core import cache
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import models as w2v_models
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

MODEL = "local:tiny-en"


@pytest.fixture
def tiny_en(tmp_path, monkeypatch):
    """``local:tiny-en`` in ``AUDIOLAB_MODEL_DIR`` (the server runs in this process); returns the
    reference torchaudio model with the same weights."""
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    model = tiny.hf_model(11)
    tiny.write_hf_folder(tmp_path / "models" / "tiny-en", model)
    w2v._MEMO.clear()
    return model


@pytest.fixture
def clip(tmp_path):
    """2 s at 22.05 kHz (resampled to 16 kHz by the app)."""
    x = signals.chirp(150, 5000, 22_050, 2.0) + 0.1 * signals.white_noise(22_050, 2.0)
    return signals.write(tmp_path / "clip.wav", x, 22_050, subtype="FLOAT"), x


def reference(model, x):
    mono = F.resample(x, 22_050, 16_000).clamp(-1, 1)
    return tiny.reference_log_probs(model, mono, eps=1e-7)


def greedy(log_probs, labels):
    ids = torch.unique_consecutive(log_probs.argmax(-1)).tolist()
    text = "".join(labels[i] for i in ids if i != 0 and not labels[i].startswith("<"))
    return " ".join(text.replace("|", " ").split())


def test_emissions_returns_the_log_probabilities_torchaudio_gives_and_the_figure(client, tiny_en, clip):
    path, x = clip
    image, text, npy, js, code, notes = client.predict(handle_file(str(path)), MODEL, 20, 2, api_name="/emissions")
    ref = reference(tiny_en, x)
    got = np.load(npy)
    assert got.shape == tuple(ref.shape) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref.numpy(), atol=2e-4)
    labels = tuple(tiny.hf_vocab())
    assert text == greedy(torch.from_numpy(got), labels) and text == greedy(ref, labels)
    data = json.loads(Path(js).read_text(encoding="utf-8"))
    assert data["transcript"] == text and data["labels"] == list(labels) and data["frames"] == ref.shape[0]
    assert image.endswith(".png") and "torchaudio.models.wav2vec2_model" in code and "16000 Hz" in notes
    assert client.predict(handle_file(str(path)), MODEL, 20, 2, api_name="/transcribe")[0] == text


def test_align_gives_the_spans_of_torchaudio_forced_align(client, tiny_en, clip):
    path, x = clip
    image, table, js, code, _ = client.predict(handle_file(str(path)), MODEL, "The hat, on!", 20, 2, api_name="/align")
    assert [row[0] for row in table["data"]] == ["THE", "HAT", "ON"]
    vocab = tiny.hf_vocab()
    targets = torch.tensor([[vocab[c] for c in "THE|HAT|ON"]], dtype=torch.int32)
    path_ref, scores = F.forced_align(reference(tiny_en, x)[None], targets, blank=0)
    spans = [s for s in F.merge_tokens(path_ref[0], scores[0].exp()) if s.token != vocab["|"]]
    data = json.loads(Path(js).read_text(encoding="utf-8"))
    chars = [c for w in data["words"] for c in w["chars"]]
    assert [(c["start_frame"], c["end_frame"]) for c in chars] == [(s.start, s.end) for s in spans]
    starts = [row[1] for row in table["data"]]
    assert starts == sorted(starts) and image.endswith(".png") and "forced_align" in code


def test_layer_features_returns_the_chosen_layer_of_extract_features(client, tiny_en, clip):
    path, x = clip
    image, summary_img, npy, summary, code, _ = client.predict(
        handle_file(str(path)), MODEL, 2, 20, 2, api_name="/layer_features"
    )
    mono = F.resample(x, 22_050, 16_000).clamp(-1, 1)
    with torch.no_grad():
        feats, _ = tiny_en.extract_features(torch.nn.functional.layer_norm(mono, mono.shape, eps=1e-7))
    np.testing.assert_allclose(np.load(npy), feats[1][0].numpy(), atol=2e-4)
    assert summary["layers"] == 2 and summary["dim"] == 32 and summary["similarity_to_layer"][1] == pytest.approx(1)


def test_models_and_cache_status_are_listed(client, tiny_en, clip):
    names = [m["name"] for m in client.predict(api_name="/list_models")]
    assert names[0] == "WAV2VEC2_ASR_BASE_960H" and MODEL in names and "hf:facebook/wav2vec2-base-960h" in names
    client.predict(handle_file(str(clip[0])), MODEL, 20, 2, api_name="/transcribe")
    rows, summary = client.predict(api_name="/cache_status")
    mine = [r for r in rows if r["name"] == MODEL]
    assert mine and mine[0]["device"] == cache.default_device() and mine[0]["megabytes"] > 0
    assert "cpu:" in summary and "MB" in summary


def test_a_missing_model_gets_a_clear_message_and_the_app_keeps_serving(client, tiny_en, clip, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    monkeypatch.setenv(w2v_models.ENV_OFFLINE, "1")
    cache.CACHE.clear()
    audio = handle_file(str(clip[0]))
    with pytest.raises(AppError, match=r"WAV2VEC2_ASR_BASE_960H is not available.*torch hub cache .*empty_torch_home"):
        client.predict(audio, "WAV2VEC2_ASR_BASE_960H", 20, 2, api_name="/emissions")
    with pytest.raises(AppError, match="Unknown model 'gpt-5'"):
        client.predict(audio, "gpt-5", 20, 2, api_name="/transcribe")
    with pytest.raises(AppError, match="not in the model's vocabulary: '7'"):
        client.predict(audio, MODEL, "take 7", 20, 2, api_name="/align")
    with pytest.raises(AppError, match="layer=20 is out of range: local:tiny-en has 2 layers"):
        client.predict(audio, MODEL, 20, 20, 2, api_name="/layer_features")
    assert client.predict(audio, MODEL, 20, 2, api_name="/transcribe")[1]["model"] == MODEL
