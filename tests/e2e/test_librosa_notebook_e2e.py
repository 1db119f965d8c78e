"""Features tab in a browser: "Compare with librosa" shows the panel, and the code panel downloads a notebook
in the page's language."""

from __future__ import annotations

import json

import nbformat
import torch
from playwright.sync_api import expect

from tests import signals


def _features_with_clip(page, tmp_path):
    clip = torch.cat([signals.chirp(150, 3000, 16_000, 1.0), signals.sine(330, 16_000, 1.0)])
    path = signals.write(tmp_path / "lib_clip.wav", clip, 16_000)
    page.locator("#features-input input[type=file]").set_input_files(str(path))
    expect(page.locator("#features-input audio").first).to_be_attached(timeout=30_000)


def test_compare_with_librosa_shows_differences_conventions_and_both_codes(page, tmp_path):
    page.get_by_role("tab", name="Features").click()
    _features_with_clip(page, tmp_path)
    page.locator("#features-name").get_by_text("MFCC (T.MFCC)").click()
    page.locator("#features-librosa input[type=checkbox]").check()
    page.locator("#features-run").click()
    table = page.locator("#features-librosa-table")
    expect(table).to_contain_text("Largest absolute difference", timeout=90_000)
    expect(table).to_contain_text("pad_mode")
    expect(table).to_contain_text("htk=True")
    expect(page.locator("#features-librosa-figure img")).to_be_visible()
    expect(page.locator("#features-librosa-code")).to_contain_text("librosa.feature.mfcc(")
    expect(page.locator("#features-librosa-code-ta")).to_contain_text("T.MFCC(")
    stats = page.locator("#features-librosa-stats")
    expect(stats).to_contain_text("max_rel_difference")


def test_the_notebook_download_is_explained_in_chinese_for_a_chinese_browser(browser, app_url, tmp_path):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(app_url)
    page.wait_for_selector("#audio-input")
    page.get_by_role("tab", name="特征").click()
    _features_with_clip(page, tmp_path)
    page.locator("#features-run").click()
    expect(page.locator("#features-summary")).to_contain_text("mel_spectrogram", timeout=60_000)
    page.get_by_text("代码（torchaudio）").filter(visible=True).first.click()  # open the code panel
    button = page.locator("#features-notebook")
    expect(button).to_be_visible()
    with page.expect_download() as info:
        button.click()
    nb = nbformat.reads(open(info.value.path(), encoding="utf-8").read(), as_version=4)  # noqa: SIM115
    nbformat.validate(nb)
    assert "用 torchaudio 计算音频特征" in nb.cells[0].source and "lib_clip.wav" in nb.cells[0].source
    assert any("T.MelSpectrogram(" in c.source for c in nb.cells if c.cell_type == "code")
    assert json.loads(json.dumps(nb))["nbformat"] == 4
    context.close()
