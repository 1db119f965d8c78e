"""The Griffin-Lim tab in a real browser: upload, run, see the results, play the reconstruction."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests import signals


def test_running_griffin_lim_shows_metrics_plots_and_plays_the_reconstruction(page, tmp_path):
    path = signals.write(tmp_path / "sweep.wav", signals.chirp(200, 5000, 16_000, 1.0), 16_000)
    page.get_by_role("tab", name="Griffin-Lim").click()
    page.locator("#gl-input input[type=file]").set_input_files(str(path))
    expect(page.locator("#gl-input audio").first).to_be_attached()
    page.locator("#gl-run").click()
    metrics = page.locator("#gl-metrics")
    expect(metrics).to_contain_text("spectral_convergence_db", timeout=60_000)
    expect(metrics).to_contain_text("true_phase_inverse")
    expect(page.locator("#gl-convergence img")).to_be_visible()
    expect(page.locator("#gl-spectrograms img")).to_be_visible()
    expect(page.locator("#gl-result a[download]")).to_have_attribute("href", re.compile(r"griffin_lim\.wav$"))
    expect(page.locator("#gl-true-phase a[download]")).to_have_attribute(
        "href", re.compile(r"true_phase_inverse\.wav$")
    )
    expect(page.locator("#gl-result #duration")).to_have_text("0:01")  # the browser decoded the float WAV
    page.locator("#gl-result button[aria-label='Play']").click()
    expect(page.locator("#gl-result button[aria-label='Pause']")).to_be_visible()  # it is playing
    page.screenshot(path="/tmp/griffinlim.png", full_page=True)
