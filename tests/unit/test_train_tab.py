"""The Train tab's handlers in-process: building a set clip by clip, streaming, per-session heads."""

from __future__ import annotations

import json

import gradio as gr
import pytest

from components import train_tab
from tests import signals

SR = 16_000
# backbone, model, layer, n_mfcc, epochs, lr, momentum, batch_size, test_fraction, seed
SETTINGS = ["mfcc", "WAV2VEC2_BASE", 6, 13, 30, 0.01, 0.9, 4, 0.25, 0]


@pytest.fixture
def recorded_set(tmp_path):
    """A set built like a user does: 'whistle' recordings, then several 'hiss' files at once."""
    files, labels = [], "[]"
    for i in range(4):
        clip = signals.write(tmp_path / f"w{i}.wav", signals.sine(1500 + 50 * i, SR, 0.4), SR)
        files, labels, summary, recording, uploads = train_tab.add_clips(files, labels, "whistle", str(clip), None)
        assert recording is None and uploads is None  # cleared for the next clip
    hiss = [str(signals.write(tmp_path / f"h{i}.wav", signals.white_noise(SR, 0.4, seed=i), SR)) for i in range(4)]
    files, labels, summary, *_ = train_tab.add_clips(files, labels, " hiss ", None, hiss)
    assert json.loads(labels) == ["whistle"] * 4 + ["hiss"] * 4 and summary["data"] == [["whistle", 4], ["hiss", 4]]
    return files, labels


def test_training_streams_parameter_counts_then_progress_then_every_result(recorded_set):
    updates = list(train_tab.train_head(*recorded_set, *SETTINGS))
    first, last = updates[0], updates[-1]
    assert "**Trainable: 28**" in first[1] and first[0] is not None and isinstance(first[0], type(gr.skip()))
    curve, params, status, results, confusion, head_pt, code_zip, code, trained = last
    assert results["test_accuracy"] == 1.0 and len(results["loss"]) == 30 and "Done" in status
    assert trained.labels == ["whistle", "hiss"] and head_pt.endswith("head.pt") and code_zip.endswith(".zip")
    probs, notes = train_tab.classify(recorded_set[0][0], None, trained)
    assert next(iter(probs)) == "whistle" and "Clip: 0.40 s at 16000 Hz" in notes


def test_engine_errors_while_streaming_become_messages_for_the_user(recorded_set):
    files, labels = recorded_set
    with pytest.raises(gr.Error, match="There are 7 clips but 8 labels"):
        list(train_tab.train_head(files[:7], labels, *SETTINGS))
    with pytest.raises(gr.Error, match="Invalid backbone: 'resnet'"):
        list(train_tab.train_head(files, labels, "resnet", *SETTINGS[1:]))


def test_adding_needs_a_label_and_a_clip(tmp_path):
    clip = str(signals.write(tmp_path / "c.wav", signals.sine(), SR))
    with pytest.raises(gr.Error, match="Every clip needs a label"):
        train_tab.add_clips([], "[]", "  ", clip, None)
    with pytest.raises(gr.Error, match="Record or upload a clip first"):
        train_tab.add_clips([], "[]", "yes", None, [])


def test_classify_without_a_head_asks_for_one(sine_wav):
    with pytest.raises(gr.Error, match="Train a head first"):
        train_tab.classify(str(sine_wav), None, None)
