"""The Train tab's code, executed next to real clip files, trains the same head as the app."""

from __future__ import annotations

import pytest
import torch

from audiolab.train import compute as train
from audiolab.train import snippets as train_snippets
from audiolab.wav2vec2 import models as w2v_models
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny


def write_clips(clips: train.ClipSet, folder) -> list[str]:
    """The clips as float WAVs (what the tab's zip holds), named as the snippet expects."""
    (folder / "clips").mkdir()
    files = [f"clips/{i:03d}.wav" for i in range(len(clips.waveforms))]
    for name, waveform in zip(files, clips.waveforms, strict=True):
        signals.write(folder / name, waveform, clips.sample_rate, subtype="FLOAT")
    return files


def run(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "<train snippet>", "exec"), namespace)
    return namespace


def check_same_training(ns: dict, result: train.TrainResult, trained: train.TrainedHead, tmp_path) -> None:
    torch.testing.assert_close(torch.tensor(ns["history"]), torch.tensor(result.loss), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ns["fc"].weight.detach().cpu(), result.head.fc.weight.detach(), atol=1e-5, rtol=1e-4)
    assert torch.equal(ns["confusion"], result.confusion)
    saved = train.TrainedHead.from_bytes((tmp_path / "head.pt").read_bytes())  # the tab reads the snippet's file
    assert saved.labels == trained.labels and saved.backbone == trained.backbone
    for key, value in trained.state_dict.items():
        torch.testing.assert_close(saved.state_dict[key], value, atol=1e-5, rtol=1e-4)


def test_the_mfcc_snippet_gives_the_apps_loss_curve_head_and_confusion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clips = train.builtin_set(seed=2, per_label=6)
    config = train.TrainConfig(epochs=12, lr=0.02, momentum=0.8, batch_size=5, test_fraction=0.3, seed=9)
    prepared = train.prepare(clips, train.mfcc_backbone(n_mfcc=16), config)
    result = train.train_head(prepared, config)
    code = train_snippets.train_snippet(write_clips(clips, tmp_path), prepared, config)
    assert "nn.Linear(features.shape[1], len(labels))" in code and "torch.inference_mode()" in code
    assert "optim.SGD(fc.parameters(), lr=0.02, momentum=0.8)" in code
    ns = run(code)
    check_same_training(ns, result, train.TrainedHead.of(result, prepared), tmp_path)
    probs = ns["classify"]("clips/000.wav")
    expected = train.predict(train.mfcc_backbone(n_mfcc=16), result.head, clips.waveforms[0], 16_000)
    torch.testing.assert_close(torch.tensor(list(probs.values())), expected, atol=1e-5, rtol=1e-4)


@pytest.mark.usefixtures("fresh_wav2vec2_cache")
def test_the_wav2vec2_snippet_freezes_the_model_and_gives_the_apps_loss_curve(tmp_path, monkeypatch):
    tiny.write_hf_folder(tmp_path / "models" / "tiny", tiny.hf_model(4), normalize=True)
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    monkeypatch.chdir(tmp_path)
    clips = train.builtin_set(seed=0, per_label=3)
    config = train.TrainConfig(epochs=6, seed=1)
    backbone_config = train.backbone_config("wav2vec2", model="local:tiny", layer=2)
    prepared = train.prepare(clips, train.load_backbone(backbone_config), config)
    result = train.train_head(prepared, config)
    model = w2v_models.load_model("local:tiny")
    code = train_snippets.train_snippet(write_clips(clips, tmp_path), prepared, config, model=model)
    assert "p.requires_grad = False" in code and "extract_features(waveform, num_layers=2)" in code
    ns = run(code)
    assert ns["frozen"] == prepared.frozen_parameters > 0
    assert all(p.grad is None for p in ns["model"].parameters())
    check_same_training(ns, result, train.TrainedHead.of(result, prepared), tmp_path)
