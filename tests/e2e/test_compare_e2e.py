"""Compare in a real browser: the Audio tab's "Compare with another clip" shows B's figures against A."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import signals


def test_comparing_a_clip_with_a_louder_copy_shows_6_db_of_loudness(page, tmp_path):
    x = signals.chirp(200, 4000, 16_000, 2.0, amp=0.1)
    a = signals.write(tmp_path / "take_a.wav", x, 16_000, "FLOAT")
    b = signals.write(tmp_path / "take_b.wav", x * 10 ** (6 / 20), 16_000, "FLOAT")
    page.locator("#audio-input input[type=file]").set_input_files(str(a))
    expect(page.locator("#audio-metadata")).to_contain_text("32000", timeout=60_000)
    page.get_by_text("Compare with another clip (B)").click()
    page.locator("#audio-cmp-b input[type=file]").set_input_files(str(b))
    expect(page.locator("#audio-cmp-b audio").first).to_be_attached(timeout=30_000)
    page.locator("#audio-cmp-run").click()
    metrics = page.locator("#audio-cmp-metrics")
    expect(metrics).to_contain_text("loudness_difference_db", timeout=60_000)
    expect(metrics).to_contain_text(re.compile(r"loudness_difference_db\W*6\b"))  # B is 6 dB louder
    link = page.locator("#audio-cmp-difference a").first
    expect(link).to_have_attribute("href", re.compile(r"difference_db\.npy$"))
    # the two takes on one timeline: B's difference layer reads +6 dB where the chirp is
    root = page.locator("#audio-cmp-timeline .altl-root")
    expect(root).to_have_attribute("data-empty", "false", timeout=60_000)
    names = root.evaluate("e => e.timeline.view.tracks.map(t => t.name[0])")
    assert names == ["clip A", "clip B"]
    lufs = root.evaluate("e => e.timeline.view.tracks.map(t => t.lufs)")
    assert abs(lufs[1] - lufs[0] - 6.0) < 0.05, lufs
    diff = root.evaluate("e => { const l = e.timeline.view.tracks[0].layers[0]; return [l.name, l.vmin, l.vmax]; }")
    assert diff[0] == "B − A" and diff[1] == -diff[2]  # a diverging range centred on 0 dB
