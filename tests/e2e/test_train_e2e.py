"""The Train tab in a real browser: load the built-in set, train, watch the results, classify clips."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_training_on_the_builtin_set_then_classifying_new_clips(page):
    page.get_by_role("tab", name="Train", exact=True).click()
    page.locator("#train-builtin").click()
    expect(page.locator("#train-summary")).to_contain_text("high tone", timeout=30_000)
    expect(page.locator("#train-labels textarea")).to_have_value(re.compile(r'^\["low tone", "low tone"'))
    page.locator("#train-run").click()

    expect(page.locator("#train-status")).to_contain_text("Done", timeout=60_000)
    expect(page.locator("#train-status")).to_contain_text("held-out accuracy 100%")
    expect(page.locator("#train-status")).to_contain_text("Backbone parameters with a .grad: none")
    expect(page.locator("#train-params")).to_contain_text("Trainable: 42")
    expect(page.locator("#train-params")).to_contain_text("Frozen: 0")
    expect(page.locator("#train-curve img")).to_be_visible()
    expect(page.locator("#train-confusion img")).to_be_visible()
    expect(page.locator("#train-head-file a").first).to_have_attribute("href", re.compile(r"head\.pt$"))
    expect(page.locator("#train-code-file a").first).to_have_attribute("href", re.compile(r"train_head\.zip$"))

    page.locator("#train-make").click()  # a new "low tone" clip the head has not seen
    expect(page.locator("#train-try-audio audio").first).to_be_attached()
    page.locator("#train-classify").click()
    expect(page.locator("#train-probs")).to_contain_text(re.compile(r"low tone.*\d+%", re.S), timeout=30_000)
    expect(page.locator("#train-probs h2")).to_have_text("low tone")
    expect(page.locator("#train-notes")).to_contain_text("labels: low tone, high tone, noise")

    page.locator("#train-probs").scroll_into_view_if_needed()
    page.screenshot(path="/tmp/train.png", full_page=True)

    page.locator("#train-examples").get_by_text(
        "tone_8k.wav"
    ).click()  # one of our examples (440 then 660 Hz): a tone, not noise
    # the example reaches the player asynchronously: classify once it is there, not the clip before
    expect(page.locator("#train-try-audio a").first).to_have_attribute("href", re.compile(r"tone_8k\.wav$"))
    page.locator("#train-classify").click()
    expect(page.locator("#train-notes")).to_contain_text("Clip: 2.00 s at 8000 Hz", timeout=30_000)
    expect(page.locator("#train-probs h2")).not_to_have_text("noise", timeout=30_000)
