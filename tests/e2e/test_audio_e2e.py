"""The Audio tab in a real browser: upload a clip, see metadata, plots, player, code."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import signals


def test_uploading_a_clip_shows_metadata_plots_and_a_playable_result(page, tmp_path):
    import torch

    stereo = torch.cat([signals.sine(440, 22_050, 1.5), signals.chirp(200, 6000, 22_050, 1.5)])
    path = signals.write(tmp_path / "stereo_clip.wav", stereo, 22_050)
    page.locator("#audio-input input[type=file]").set_input_files(str(path))
    table = page.locator("#audio-metadata")
    expect(table).to_contain_text("22050", timeout=60_000)
    expect(table).to_contain_text("PCM_S")
    expect(table).to_contain_text("33075")  # num_frames = 1.5 s x 22050 Hz
    expect(page.locator("#audio-waveform img")).to_be_visible()
    expect(page.locator("#audio-spectrogram img")).to_be_visible()
    expect(page.locator("#audio-result audio").first).to_be_attached()
    expect(page.locator("#audio-download a").first).to_have_attribute("href", re.compile(r"result\.wav$"))
    page.screenshot(path="/tmp/audio_tab.png", full_page=True)


def test_the_interface_is_in_chinese_for_a_chinese_browser(browser, app_url):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(app_url)
    expect(page.get_by_role("tab", name="音频")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("加载并分析")).to_be_visible()
    context.close()


def test_clicking_an_example_analyses_it(page):
    page.get_by_text("speech_en.wav").first.click()
    table = page.locator("#audio-metadata")
    expect(table).to_contain_text("77091", timeout=60_000)  # frames of examples/speech_en.wav
    expect(page.locator("#audio-waveform img")).to_be_visible()
