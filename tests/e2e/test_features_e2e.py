"""The Features tab in a real browser: a mel spectrogram, then an MFCC, each plotted."""

from __future__ import annotations

import re

import torch
from playwright.sync_api import expect

from tests import signals


def test_computing_a_mel_spectrogram_then_an_mfcc_shows_both_plots(page, tmp_path):
    clip = torch.cat([signals.chirp(150, 5000, 16_000, 1.5), signals.sine(330, 16_000, 1.5)])
    path = signals.write(tmp_path / "features_clip.wav", clip, 16_000)
    page.get_by_role("tab", name="Features").click()
    page.locator("#features-input input[type=file]").set_input_files(str(path))
    expect(page.locator("#features-input audio").first).to_be_attached(timeout=30_000)

    page.locator("#features-name").get_by_text("Mel spectrogram (T.MelSpectrogram)").click()
    expect(page.locator("#features-n_mels")).to_be_visible()
    expect(page.locator("#features-n_mfcc")).to_be_hidden()
    page.locator("#features-run").click()
    summary = page.locator("#features-summary")
    expect(summary).to_contain_text("mel_spectrogram", timeout=60_000)
    mel_image = page.locator("#features-figure img")
    expect(mel_image).to_be_visible()
    expect(page.locator("#features-npy a").first).to_have_attribute("href", re.compile(r"mel_spectrogram\.npy$"))
    mel_src = mel_image.get_attribute("src")
    page.screenshot(path="/tmp/features_mel.png", full_page=True)

    page.locator("#features-name").get_by_text("MFCC (T.MFCC)").click()
    expect(page.locator("#features-n_mfcc")).to_be_visible()
    page.locator("#features-n_mfcc input").fill("13")
    page.locator("#features-run").click()
    expect(summary).to_contain_text('"n_mfcc"', timeout=60_000)
    expect(summary).to_contain_text("(channel, n_mfcc, time)")
    expect(page.locator("#features-figure img")).to_be_visible()
    expect(page.locator("#features-figure img")).not_to_have_attribute("src", mel_src or "")
    expect(page.locator("#features-pt a").first).to_have_attribute("href", re.compile(r"mfcc\.pt$"))
    page.screenshot(path="/tmp/features.png", full_page=True)
