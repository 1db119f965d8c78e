"""The wav2vec2 tab in a real browser, with a tiny model from AUDIOLAB_MODEL_DIR: heatmap,
transcript, then the alignment view where clicking a word plays it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from audiolab.wav2vec2 import models as w2v_models
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny


def test_a_tiny_model_shows_its_emission_heatmap_transcript_and_playable_words(page, tmp_path, monkeypatch):
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    tiny.write_hf_folder(tmp_path / "models" / "tiny-en", tiny.hf_model(11))
    path = signals.write(tmp_path / "speechless.wav", signals.chirp(120, 3000, 16_000, 2.5), 16_000)

    page.get_by_role("tab", name="wav2vec2", exact=True).click()
    page.locator("#wav2vec2-input input[type=file]").set_input_files(str(path))
    page.locator("#wav2vec2-refresh").click()  # lists the folder added after start
    model = page.locator("#wav2vec2-model input")
    model.click()
    model.fill("tiny")
    page.get_by_role("option", name=re.compile("tiny-en")).click()
    expect(model).to_have_value(re.compile("tiny-en"))
    page.locator("#wav2vec2-run").click()

    expect(page.locator("#wav2vec2-emission img")).to_be_visible(timeout=60_000)
    expect(page.locator("#wav2vec2-transcript textarea")).not_to_have_value("")
    expect(page.locator("#wav2vec2-npy a").first).to_have_attribute("href", re.compile(r"emissions\.npy$"))
    page.screenshot(path="/tmp/wav2vec2.png", full_page=True)

    page.get_by_role("tab", name="Forced alignment").click()
    page.locator("#wav2vec2-align-text textarea").fill("the heat is on")
    page.locator("#wav2vec2-align").click()
    expect(page.locator("#wav2vec2-words")).to_contain_text("HEAT", timeout=60_000)
    image = page.locator("#wav2vec2-alignment img")
    expect(image).to_be_visible()
    image.scroll_into_view_if_needed()  # below the timeline: bring it on screen before clicking at its middle
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)  # a word mid-clip
    expect(page.locator("#wav2vec2-segment audio").first).to_be_attached(timeout=30_000)
    page.screenshot(path="/tmp/wav2vec2_align.png", full_page=True)
