"""Hostile text in a shared head.pt and in training labels shows as text: no element is injected,
nothing is fetched, no script runs (the label reached the Classify notes and error toasts as HTML)."""

from __future__ import annotations

import io
import re

import torch
from playwright.sync_api import expect

from audiolab.train import compute as train
from tests.unit.test_train import tones_and_noise

HOSTILE = "<img src=/gradio_api/x onerror=pwned=1>"  # within the 40 characters a label may have


def hostile_head(path):
    """A real head.pt (MFCC backbone, labels low/high/noise) whose first label is ``HOSTILE``."""
    prepared = train.prepare(tones_and_noise(per_label=3), train.mfcc_backbone(), train.TrainConfig())
    data = train.TrainedHead.of(train.train_head(prepared, train.TrainConfig(epochs=2)), prepared).to_bytes()
    obj = torch.load(io.BytesIO(data), weights_only=True)
    obj["labels"][0] = HOSTILE
    torch.save(obj, path)
    return path


def watch_for_injection(page) -> list[str]:
    """URLs the page fetched from the injected ``src`` (should stay empty)."""
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url) if "/gradio_api/x" in request.url else None)
    return fetched


def assert_nothing_injected(page, fetched: list[str]) -> None:
    assert page.locator("img[src='/gradio_api/x']").count() == 0
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert fetched == []


def test_a_shared_head_s_hostile_label_shows_as_text_in_the_classify_results(page, tmp_path):
    fetched = watch_for_injection(page)
    head = hostile_head(tmp_path / "head.pt")
    page.get_by_role("tab", name="Train", exact=True).click()
    page.locator("#train-head-upload input[type=file]").set_input_files(str(head))
    page.locator("#train-make").click()
    expect(page.locator("#train-try-audio audio").first).to_be_attached(timeout=30_000)
    page.locator("#train-classify").click()
    expect(page.locator("#train-notes")).to_contain_text(f"labels: {HOSTILE}, high, noise", timeout=30_000)
    expect(page.locator("#train-probs")).to_contain_text(HOSTILE)
    assert_nothing_injected(page, fetched)


def test_a_hostile_label_shows_as_text_in_the_error_toast(page):
    fetched = watch_for_injection(page)
    page.get_by_role("tab", name="Train", exact=True).click()
    page.locator("#train-builtin").click()
    labels = page.locator("#train-labels textarea")
    expect(labels).to_have_value(re.compile(r'^\["low tone"'), timeout=30_000)
    hostile = labels.input_value().replace('"low tone"', '"' + HOSTILE.replace('"', '\\"') + '"', 1)
    labels.fill(hostile)  # the hostile label has one clip: training refuses, naming it
    page.locator("#train-run").click()
    toast = page.locator("[data-testid='toast-body']").first
    expect(toast).to_contain_text(HOSTILE, timeout=30_000)
    assert_nothing_injected(page, fetched)
