"""The wav2vec2 "Code" panel: each snippet is executed and must give the engine's tensors."""

from __future__ import annotations

import pytest
import torch
import torchaudio
from huggingface_hub import constants as hf_constants

from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import models as w2v_models
from audiolab.wav2vec2 import snippets as w2v_snippets
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

pytestmark = pytest.mark.usefixtures("fresh_wav2vec2_cache")


@pytest.fixture
def clip(tmp_path, monkeypatch):
    """A 2 s, 22.05 kHz stereo WAV in the working directory (the snippets read it by name)."""
    monkeypatch.chdir(tmp_path)
    x = torch.cat([signals.chirp(150, 4000, 22_050, 2.0), signals.sine(330, 22_050, 2.0, amp=0.3)])
    signals.write(tmp_path / "speech.wav", x, 22_050)
    return "speech.wav"


def engine(name: str, path: str) -> w2v.Emissions:
    from audiolab.core import io as aio

    decoded = aio.decode(path)
    return w2v.emissions(decoded.waveform, decoded.sample_rate, model_name=name)


def run(code: str) -> dict:
    scope: dict = {}
    exec(code, scope)
    return scope


def check_emissions_and_alignment(name: str, clip: str) -> None:
    em = engine(name, clip)
    model = w2v_models.load_model(name)
    scope = run(w2v_snippets.emissions_code(clip, model))
    torch.testing.assert_close(scope["emission"][0], em.log_probs, atol=2e-4, rtol=0)
    assert scope["transcript"] == w2v.transcript(w2v.greedy_spans(em), em.delimiter)
    words = w2v.align(em, "the hat is on")
    scope = run(w2v_snippets.align_code(clip, model, w2v.tokenize("the hat is on", em)[0]))
    ours = [(c.start, c.end) for w in words for c in w.chars]
    theirs = [(s.start, s.end) for s in scope["spans"] if scope["labels"][s.token] != "|"]
    assert theirs == ours


def test_the_bundle_snippet_reproduces_emissions_transcript_and_alignment(clip, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    tiny.place_bundle(tmp_path / "th", tiny.build(4))
    monkeypatch.setattr(torchaudio.pipelines, "WAV2VEC2_ASR_BASE_960H", tiny.bundle())
    check_emissions_and_alignment("WAV2VEC2_ASR_BASE_960H", clip)


def test_the_local_folder_snippet_converts_the_checkpoint_like_the_app(clip, tmp_path, monkeypatch):
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    tiny.write_hf_folder(tmp_path / "models" / "tiny-bin", tiny.hf_model(6), weights="bin", old_weight_norm=True)
    check_emissions_and_alignment("local:tiny-bin", clip)


def test_the_hub_snippet_reads_the_same_files_through_hf_hub_download(clip, tmp_path, monkeypatch):
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv(w2v_models.ENV_HF_MODELS, "tiny-org/tiny-w2v")
    tiny.place_hub_snapshot(tmp_path / "hf", "tiny-org/tiny-w2v", tiny.hf_model(8))
    check_emissions_and_alignment("hf:tiny-org/tiny-w2v", clip)


def test_the_features_snippet_gives_the_chosen_layer(clip, tmp_path, monkeypatch):
    from audiolab.core import io as aio

    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    tiny.write_hf_folder(tmp_path / "models" / "tiny-en", tiny.hf_model(1))
    decoded = aio.decode(clip)
    lf = w2v.layer_features(decoded.waveform, decoded.sample_rate, model_name="local:tiny-en", layer=2)
    scope = run(w2v_snippets.features_code(clip, w2v_models.load_model("local:tiny-en"), 2))
    torch.testing.assert_close(scope["chosen"], lf.features, atol=2e-4, rtol=0)
    assert len(scope["features"]) == 2
