"""User- and file-supplied text reaches places that render HTML (error toasts, Markdown) only escaped."""

from __future__ import annotations

import dataclasses

import gradio as gr
import pytest
import torch

from audiolab.core.errors import AudioLabError
from components import train_tab
from components.common import plain_html, user_errors

HOSTILE = '<img src="/gradio_api/x?px" onerror="window.pwned=1">'


def test_an_error_toast_shows_a_label_as_text_not_as_an_element():
    @user_errors
    def handler():
        raise AudioLabError(f"The label {HOSTILE!r} has only 1 clip.")

    with pytest.raises(gr.Error) as err:
        handler()
    assert "<img" not in err.value.message
    escaped = HOSTILE.replace("<", "&lt;").replace(">", "&gt;")
    assert err.value.message == f"The label {escaped!r} has only 1 clip."


def test_plain_html_round_trips_through_an_html_parser():
    from html.parser import HTMLParser

    class Collect(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.tags, self.text = [], ""

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)

        def handle_data(self, data):
            self.text += data

    parser = Collect()
    parser.feed(f"<p>{plain_html('a & b < c ' + HOSTILE)}</p>")
    assert parser.tags == ["p"] and parser.text == "a & b < c " + HOSTILE


def test_a_model_name_and_training_notes_in_the_train_tab_markdown_are_escaped():
    prepared = train_tab.train.Prepared(
        features=torch.zeros(4, 8), targets=torch.tensor([0, 0, 1, 1]), labels=["a", "b"], names=["1", "2", "3", "4"],
        train_idx=torch.tensor([0, 2]), test_idx=torch.tensor([1, 3]),
        backbone={"kind": "wav2vec2", "model": HOSTILE, "layer": 1}, frozen_parameters=0, backbone_buffers=0,
        feature_seconds=0.1,
    )  # fmt: skip
    assert "<img" not in train_tab._params_md(prepared) and "&lt;img" in train_tab._params_md(prepared)
    result = dataclasses.make_dataclass("R", ["epochs", "config", "device", "loss", "train_accuracy", "test_accuracy",
                                              "grad_norm", "done", "seconds", "notes"])  # fmt: skip
    config = dataclasses.make_dataclass("C", ["epochs"])(1)
    status = train_tab._status(result([1], config, "cpu", [0.5], [1.0], [1.0], [0.1], True, 0.2, [f"label {HOSTILE}"]))
    assert "<img" not in status and "&lt;img" in status
