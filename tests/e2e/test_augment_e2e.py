"""The Augment tab in a real browser: build a one-step chain, apply it, see and play the result."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import signals


def test_applying_a_time_stretch_shows_the_steps_and_spectrograms_and_plays_the_result(page, tmp_path):
    path = signals.write(tmp_path / "sweep.wav", signals.chirp(200, 4000, 16_000, 3.0), 16_000)
    page.get_by_role("tab", name="Augment").click()
    page.locator("#aug-input input[type=file]").set_input_files(str(path))
    expect(page.locator("#aug-input audio").first).to_be_attached()
    page.locator("#aug-add-time_stretch").click()  # time_stretch is the effect shown first (rate 1.25)
    chain = page.locator("#aug-chain textarea")
    expect(chain).to_have_value(re.compile(r'"op": "time_stretch", "rate": 1.25'))
    expect(page.locator("#aug-steps")).to_contain_text("time_stretch")
    page.locator("#aug-run").click()
    steps = page.locator("#aug-steps")
    expect(steps).to_contain_text("2.4", timeout=60_000)  # 3 s / 1.25: the result's duration
    expect(page.locator("#aug-before img")).to_be_visible()
    expect(page.locator("#aug-after img")).to_be_visible()
    expect(page.locator("#aug-download a")).to_have_attribute("href", re.compile(r"augmented\.wav$"))
    result = page.locator("#aug-result")
    expect(result.locator("#duration")).to_have_text("0:02")  # 2.4 s, decoded by the browser
    result.locator("button[aria-label='Play']").click()
    expect(result.locator("button[aria-label='Pause']")).to_be_visible()  # it is playing
    page.screenshot(path="/tmp/augment.png", full_page=True)
