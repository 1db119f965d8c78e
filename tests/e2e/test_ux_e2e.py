"""Issue #19 in a real browser: errors kept in the tab's notes area, controls that follow their
feature or model, inputs never replaced behind the user's back, options shown only where they apply."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from audiolab.wav2vec2 import models as w2v_models
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny


def _upload(page, elem_id: str, path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))
    expect(page.locator(f"#{elem_id} audio").first).to_be_attached(timeout=30_000)


def _pick(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_features_error_stays_in_the_notes_area_until_the_next_run(page, tmp_path):
    path = signals.write(tmp_path / "tone.wav", signals.sine(440, 16_000, 1.0), 16_000)
    page.get_by_role("tab", name="Features").click()
    _upload(page, "features-input", path)
    page.locator("#features-n_fft input").fill("3")
    page.locator("#features-run").click()
    notes = page.locator("#features-notes")
    expect(notes).to_contain_text("Error:", timeout=60_000)
    expect(notes).to_contain_text("n_fft=3")
    page.locator(".toast-close").first.click()  # closing the toast leaves the message in the tab
    expect(notes).to_contain_text("n_fft=3")

    page.locator("#features-n_fft input").fill("512")
    page.locator("#features-run").click()
    expect(page.locator("#features-summary")).to_contain_text('"n_fft": 512', timeout=60_000)
    expect(notes).not_to_contain_text("Error")


def test_complex_power_goes_back_to_2_when_the_feature_cannot_use_it_and_reset_restores_defaults(page, tmp_path):
    path = signals.write(tmp_path / "tone.wav", signals.sine(440, 16_000, 1.0), 16_000)
    page.get_by_role("tab", name="Features").click()
    _upload(page, "features-input", path)
    page.locator("#features-name").get_by_text("Spectrogram (T.Spectrogram)").click()
    _pick(page, "features-power", "None (complex)")
    expect(page.locator("#features-power input")).to_have_value("None (complex)")
    page.locator("#features-name").get_by_text("MFCC (T.MFCC)").click()
    expect(page.locator("#features-power input")).to_have_value("2 (power)")
    page.locator("#features-run").click()
    expect(page.locator("#features-summary")).to_contain_text("(channel, n_mfcc, time)", timeout=60_000)

    page.locator("#features-n_mfcc input").fill("13")
    page.locator("#features-n_fft input").fill("256")
    page.locator("#features-reset").click()
    expect(page.locator("#features-n_mfcc input")).to_have_value("40")
    expect(page.locator("#features-n_fft input")).to_have_value("1024")


def test_an_audio_tab_example_does_not_replace_a_clip_the_user_put_in_features(page, tmp_path):
    mine = signals.write(tmp_path / "my_own_clip.wav", signals.sine(330, 16_000, 1.0), 16_000)
    page.get_by_role("tab", name="Features").click()
    _upload(page, "features-input", mine)
    page.get_by_role("tab", name="Audio", exact=True).click()
    page.locator("#audio-input").locator("xpath=..").locator(".gallery-item, button.gallery").first.click()
    expect(page.locator("#audio-result audio").first).to_be_attached(timeout=60_000)
    page.get_by_role("tab", name="Griffin-Lim").click()
    expect(page.locator("#gl-input audio").first).to_be_attached(timeout=30_000)  # empty tabs do follow
    page.get_by_role("tab", name="Features").click()
    expect(page.locator("#features-input a").first).to_have_attribute("href", re.compile(r"my_own_clip\.wav$"))


def test_wav_bit_depth_shows_only_for_wav_exports(page):
    expect(page.locator("#audio-wav-bits")).to_be_visible()
    page.get_by_label("mp3").check()
    expect(page.locator("#audio-wav-bits")).to_be_hidden()
    page.get_by_label("wav").check()
    expect(page.locator("#audio-wav-bits")).to_be_visible()


def test_the_layer_sliders_follow_a_two_layer_model(page, tmp_path, monkeypatch):
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    tiny.write_hf_folder(tmp_path / "models" / "tiny-two", tiny.hf_model(3))
    page.get_by_role("tab", name="wav2vec2", exact=True).click()
    page.get_by_role("tab", name="Layer features").click()
    layer = page.locator("#wav2vec2-layer input[type=number]")
    expect(layer).to_have_value("6")
    page.locator("#wav2vec2-refresh").click()
    model = page.locator("#wav2vec2-model input")
    model.click()
    model.fill("tiny-two")
    page.get_by_role("option", name=re.compile("tiny-two")).click()
    expect(layer).to_have_value("2")
    expect(layer).to_have_attribute("max", "2")

    page.get_by_role("tab", name="Train").click()
    expect(page.locator("#train-n-mfcc")).to_be_visible()
    page.locator("#train-backbone").get_by_text("wav2vec2 (pre-trained, frozen)").click()
    expect(page.locator("#train-n-mfcc")).to_be_hidden()
    train_model = page.locator("#train-model input")
    train_model.fill(f"{w2v_models.LOCAL_PREFIX}tiny-two")  # typed: this list was built before the folder existed
    train_model.press("Enter")
    expect(page.locator("#train-layer input[type=number]")).to_have_attribute("max", "2")
    expect(page.locator("#train-layer input[type=number]")).to_have_value("2")


def test_the_preset_box_empties_when_the_chain_is_no_longer_that_preset(page):
    page.get_by_role("tab", name="Augment").click()
    preset = page.locator("#aug-preset input")
    preset.click()
    first = page.get_by_role("option").first
    name = first.inner_text()
    first.click()
    expect(preset).to_have_value(name)
    expect(page.locator("#aug-chain textarea")).not_to_have_value("[]")
    page.get_by_role("button", name="Remove last step").click()
    expect(preset).to_have_value("")


def test_a_bad_number_is_named_in_the_notes_area(page, tmp_path):
    path = signals.write(tmp_path / "tone.wav", signals.sine(440, 16_000, 1.0), 16_000)
    _upload(page, "audio-input", path)
    # the upload's own analysis (num_frames=-1) first: run beside the click, it could answer last
    expect(page.locator("#audio-notes")).to_contain_text("No notes", timeout=60_000)
    page.locator("#num-frames input").fill("-7")
    page.locator("#audio-run").click()
    expect(page.locator("#audio-notes")).to_contain_text("num_frames=-7 is out of range", timeout=60_000)
