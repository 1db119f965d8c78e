"""wav2vec2 figures (rows shown, click-to-time mapping), word playback, and the ZeroGPU wrapper."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import soundfile as sf
import torch

from audiolab.core import limits
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import figures as w2v_figures
from components import wav2vec2_tab
from tests import signals


def emissions(frames: int, tokens: int, seed: int = 0) -> w2v.Emissions:
    g = torch.Generator().manual_seed(seed)
    lp = torch.randn(frames, tokens, generator=g).log_softmax(-1)
    labels = ("<pad>", "|", *[chr(0x4E00 + i) for i in range(tokens - 2)])
    return w2v.Emissions(lp, labels, 0, "|", 0.02, frames * 0.02, "zh")


def test_a_big_vocabulary_shows_the_blank_the_recognised_and_the_likeliest_tokens():
    em = emissions(40, 3000)
    rows = w2v_figures.shown_tokens(em)
    recognised = set(em.log_probs.argmax(-1).tolist())
    assert len(rows) == limits.W2V_HEATMAP_MAX_TOKENS and rows == sorted(rows)
    assert 0 in rows and recognised <= set(rows)
    assert w2v_figures.shown_tokens(emissions(10, 20)) == list(range(20))


@pytest.mark.filterwarnings("ignore:Glyph")  # no CJK font on the test machine: boxes, not an error
def test_the_emission_image_is_drawn_for_a_big_vocabulary():
    em = emissions(300, 3000)
    spans = w2v.greedy_spans(em)
    image = w2v_figures.emission_image(em, spans, w2v.transcript(spans, "|"))
    assert image.dtype == np.uint8 and image.shape[1] == 1000 and image.shape[2] == 3


def test_a_click_on_the_alignment_image_maps_to_the_time_drawn_there():
    words = [w2v.Span("A", 0, 50, 0.0, 1.0, 0.9)]  # shaded from 0 to 1 s of a 2 s clip
    image, geometry = w2v_figures.alignment_image(signals.sine(seconds=2.0) * 0, 16_000, words)
    row = image[int(image.shape[0] * 0.3)].astype(int)  # a row inside the axes, above the waveform
    shaded = np.flatnonzero(np.abs(row - [202, 231, 202]).sum(-1) < 12)  # #2ca02c at alpha 0.25 on white
    first, last = shaded.min(), shaded.max()
    assert w2v_figures.click_time(first + 1, geometry) == pytest.approx(0.0, abs=0.02)
    assert w2v_figures.click_time(last, geometry) == pytest.approx(1.0, abs=0.02)
    assert w2v_figures.click_time(geometry["x1"], geometry) == pytest.approx(2.0)
    assert w2v_figures.click_time(-50, geometry) == 0.0


def test_playing_a_word_returns_exactly_its_samples(tmp_path):
    x = signals.chirp(seconds=2.0, sample_rate=22_050)
    path = signals.write(tmp_path / "clip.wav", x, 22_050, subtype="FLOAT")
    state = {"path": str(path), "rate": 22_050, "geometry": {"x0": 80, "x1": 900, "duration_s": 2.0},
             "words": [["A", 0.1, 0.3], ["B", 1.0, 1.5]]}  # fmt: skip
    out, rate = sf.read(wav2vec2_tab.play_word(state, time_s=1.2), dtype="float32")
    assert rate == 22_050
    np.testing.assert_allclose(out, x[0, 22_050 : int(1.5 * 22_050)].numpy(), atol=1 / 32768 + 1e-6)
    out, _ = sf.read(wav2vec2_tab.play_word(state, index=0), dtype="float32")
    assert out.shape[0] == int(0.3 * 22_050) - int(0.1 * 22_050)
    assert wav2vec2_tab.play_word(None, index=0) is None


def test_handlers_are_wrapped_with_spaces_gpu_when_spaces_is_importable(monkeypatch):
    fake = types.ModuleType("spaces")
    seen = []

    def gpu(duration=60):
        def wrap(fn):
            def wrapped(*args, **kwargs):
                seen.append(duration)
                return fn(*args, **kwargs)

            return wrapped

        return wrap

    fake.GPU = gpu
    monkeypatch.setitem(sys.modules, "spaces", fake)

    def handler(x):
        return x + 1

    wrapped = wav2vec2_tab.gpu_wrap(handler)
    assert wrapped is not handler and wrapped(1) == 2 and seen == [120]


def test_without_spaces_the_handlers_are_left_as_they_are(monkeypatch):
    monkeypatch.setitem(sys.modules, "spaces", None)  # import spaces -> ImportError

    def handler(x):
        return x

    assert wav2vec2_tab.gpu_wrap(handler) is handler


def test_on_zerogpu_the_default_model_is_loaded_at_start_and_failures_do_not_stop_the_app(monkeypatch):
    loaded = []
    monkeypatch.setattr(wav2vec2_tab.w2v_models, "load_model", lambda name: loaded.append(name))
    wav2vec2_tab.on_start()
    assert loaded == []  # not on ZeroGPU: models load on first use
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    wav2vec2_tab.on_start()
    assert loaded == [limits.W2V_DEFAULT_MODEL]

    def fail(name):
        raise OSError("offline")

    monkeypatch.setattr(wav2vec2_tab.w2v_models, "load_model", fail)
    wav2vec2_tab.on_start()  # logs, does not raise
