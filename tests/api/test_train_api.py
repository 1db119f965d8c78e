"""The Train tab's endpoints, called by name through gradio_client on the launched app."""

from __future__ import annotations

import json
import zipfile

import pytest
import soundfile as sf
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from audiolab.train import compute as train
from audiolab.wav2vec2 import models as w2v_models
from tests.fixtures import wav2vec2_tiny as tiny

# backbone, model, layer, n_mfcc, epochs, lr, momentum, batch_size, test_fraction, seed
SETTINGS = ["mfcc", "WAV2VEC2_BASE", 6, 13, 40, 0.01, 0.9, 8, 0.25, 0]


def read(path: str) -> tuple[torch.Tensor, int]:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return torch.from_numpy(data.T.copy()), rate


@pytest.fixture(scope="module")
def session(app_url):
    """One client (one session): the built-in set, then a trained head kept in its state."""
    client = Client(app_url, verbose=False)
    files, labels_json, summary = client.predict(0, api_name="/builtin_set")
    outputs = client.predict([handle_file(f) for f in files], labels_json, *SETTINGS, api_name="/train_head")
    return client, files, json.loads(labels_json), summary, outputs


def test_the_builtin_set_is_the_engines_synthesized_clips(session):
    _, files, labels, summary, _ = session
    clips = train.builtin_set(seed=0)
    assert labels == [clips.labels[i] for i in clips.targets.tolist()]
    assert summary["data"] == [["low tone", 16], ["high tone", 16], ["noise", 16]]
    waveform, rate = read(files[20])
    assert rate == 16_000
    torch.testing.assert_close(waveform, clips.waveforms[20], atol=1 / 32768, rtol=0)  # 16-bit WAV


def test_train_head_returns_the_engines_loss_curve_accuracy_and_confusion_matrix(session):
    _, files, labels, _, (curve, params, status, results, confusion_png, head_pt, code_zip, code) = session
    clips = train.clip_set([read(f) for f in files], labels)
    config = train.TrainConfig(epochs=40)
    expected = train.train_head(train.prepare(clips, train.mfcc_backbone(n_mfcc=13), config), config)
    torch.testing.assert_close(torch.tensor(results["loss"]), torch.tensor(expected.loss), atol=1e-6, rtol=1e-5)
    assert results["test_accuracy"] == 1.0 and results["confusion"] == expected.confusion.tolist()
    assert results["trainable_parameters"] == 14 * 3 and results["frozen_parameters"] == 0
    assert results["n_train"] == 36 and results["n_test"] == 12 and results["done"]
    assert "**Trainable: 42**" in params and "**Frozen: 0**" in params and "Done" in status
    assert results["backbone_parameters_with_grad"] == [] and "parameters with a `.grad`: none" in status
    assert curve.endswith(".png") and confusion_png.endswith(".png")
    state = torch.load(head_pt, weights_only=True)
    assert state["labels"] == list(train.BUILTIN_LABELS) and state["state_dict"]["fc.weight"].shape == (3, 13)
    assert "optim.SGD(fc.parameters(), lr=0.01, momentum=0.9)" in code


def test_the_downloaded_zip_reproduces_the_loss_curve(session, tmp_path, monkeypatch):
    *_, (_, _, _, results, _, _, code_zip, _) = session
    with zipfile.ZipFile(code_zip) as zf:
        zf.extractall(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile((tmp_path / "train_head.py").read_text(), "train_head.py", "exec"), namespace)
    torch.testing.assert_close(torch.tensor(namespace["history"]), torch.tensor(results["loss"]), atol=1e-6, rtol=1e-5)


def test_classify_uses_the_sessions_head_and_an_uploaded_head_works_without_one(session, app_url):
    client, *_, outputs = session
    for label in train.BUILTIN_LABELS:
        clip = client.predict(label, 0, 321, api_name="/builtin_clip")
        probs, notes = client.predict(handle_file(clip), None, api_name="/classify")
        assert probs["label"] == label and "labels: low tone, high tone, noise" in notes
        assert sum(c["confidence"] for c in probs["confidences"]) == pytest.approx(1.0, abs=1e-4)
    fresh = Client(app_url, verbose=False)  # another user: no head in its session
    clip = fresh.predict("noise", 0, 5, api_name="/builtin_clip")
    with pytest.raises(AppError, match="Train a head first"):
        fresh.predict(handle_file(clip), None, api_name="/classify")
    probs, _ = fresh.predict(handle_file(clip), handle_file(outputs[5]), api_name="/classify")
    assert probs["label"] == "noise"


def test_mismatched_labels_get_a_clear_message_and_the_app_keeps_serving(session):
    client, files, *_ = session
    with pytest.raises(AppError, match="There are 3 clips but 2 labels"):
        client.predict([handle_file(f) for f in files[:3]], '["a", "b"]', *SETTINGS, api_name="/train_head")
    with pytest.raises(AppError, match=r"Each label needs at least 2 clips .* 'b' \(1\)"):
        client.predict([handle_file(f) for f in files[:3]], '["a", "a", "b"]', *SETTINGS, api_name="/train_head")
    bad = list(SETTINGS)
    bad[5] = 5.0  # lr
    with pytest.raises(AppError, match="learning rate=5 is out of range"):
        client.predict([handle_file(f) for f in files[:4]], '["a", "a", "b", "b"]', *bad, api_name="/train_head")
    assert client.predict("low tone", 0, 1, api_name="/builtin_clip").endswith(".wav")


def test_a_frozen_wav2vec2_backbone_trains_a_head_and_a_missing_model_is_a_clear_error(session, tmp_path,
                                                                                          monkeypatch):  # fmt: skip
    client, files, labels, *_ = session
    tiny.write_hf_folder(tmp_path / "models" / "tiny-train", tiny.hf_model(2))
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    monkeypatch.setenv(w2v_models.ENV_OFFLINE, "1")
    picked = [handle_file(f) for f in files[::4]]
    some = json.dumps(labels[::4])
    settings = ["wav2vec2", "local:tiny-train", 2, *SETTINGS[3:]]
    _, _, _, results, _, _, _, code = client.predict(picked, some, *settings, api_name="/train_head")
    model = w2v_models.load_model("local:tiny-train")
    assert results["frozen_parameters"] == sum(p.numel() for p in model.parameters()) > 20_000
    assert results["trainable_parameters"] == (32 + 1) * 3 and results["backbone"]["layer"] == 2
    assert "extract_features(waveform, num_layers=2)" in code and results["backbone_parameters_with_grad"] == []
    settings[1] = "WAV2VEC2_LARGE"
    with pytest.raises(AppError, match=r"Model WAV2VEC2_LARGE is not available: its weights .* torch hub cache"):
        client.predict(picked, some, *settings, api_name="/train_head")
