"""The timeline in a real browser, as a person uses it: hover readout of a known tone, wheel zoom
with detail computed on the server, double-click back, click to seek, space to play, keyboard
cursor, overlays, A/B switching at the same position, regions that play exactly their span, a
phone-width screen, Chinese labels and a 10-minute clip."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from audiolab.wav2vec2 import models as w2v_models
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

ROOT = "#{} .altl-root"


def _upload(page, elem_id: str, path) -> None:
    page.locator(f"#{elem_id} input[type=file]").set_input_files(str(path))


def _ready(page, tl: str, timeout: float = 60_000) -> None:
    expect(page.locator(ROOT.format(tl))).to_have_attribute("data-empty", "false", timeout=timeout)
    page.locator(f"#{tl}").scroll_into_view_if_needed()


def _state(page, tl: str) -> dict:
    return page.locator(ROOT.format(tl)).evaluate("e => ({...e.dataset})")


def _lanes(page, tl: str) -> list[dict]:
    return page.locator(ROOT.format(tl)).evaluate(
        "e => e.timeline.lanes.map(l => ({kind: l.kind, track: l.track, channel: l.channel, "
        "x: l.x, y: l.y, w: l.w, h: l.h}))"
    )


def _lane(page, tl: str, kind: str, track: int = 0) -> dict:
    lane = next(lane for lane in _lanes(page, tl) if lane["kind"] == kind and (lane.get("track") or 0) == track)
    box = page.locator(f"#{tl} .altl-stage").bounding_box()
    return {**lane, "left": box["x"] + lane["x"], "top": box["y"] + lane["y"]}


def _readout(page, tl: str) -> dict:
    return page.locator(f"#{tl} .altl-readout").evaluate("e => ({text: e.textContent, ...e.dataset})")


def _x_of(page, tl: str, lane: dict, t: float) -> float:
    s = _state(page, tl)
    t0, t1 = float(s["t0"]), float(s["t1"])
    return lane["left"] + (t - t0) / (t1 - t0) * lane["w"]


def _augment(page, tmp_path, seconds: float, chain: str) -> None:
    """Run ``chain`` on a 440 Hz tone at a quarter of full scale in the Augment tab; wait for its timeline."""
    path = signals.write(tmp_path / "tone.wav", signals.sine(440, 16_000, seconds, amp=0.25), 16_000)
    page.get_by_role("tab", name="Augment").click()
    _upload(page, "aug-input", path)
    page.locator("#aug-chain textarea").fill(chain)
    page.locator("#aug-run").click()
    _ready(page, "aug-timeline", 90_000)


def _settled(page, tl: str) -> None:
    expect(page.locator(ROOT.format(tl))).to_have_attribute("data-loading", "false", timeout=30_000)


def test_hover_reads_time_frequency_note_and_level_of_a_known_tone_and_zoom_keeps_it(page, tmp_path):
    # 2 kHz at half scale (-6.02 dBFS), 16 kHz: 2000 Hz is bin 128 of the view's 1024-point FFT
    path = signals.write(tmp_path / "tone_2k.wav", signals.sine(2000, 16_000, 3.0, amp=0.5), 16_000)
    _upload(page, "audio-input", path)
    _ready(page, "audio-timeline")
    spec = _lane(page, "audio-timeline", "spec")
    y = spec["top"] + (1 - 2000 / 8000) * spec["h"]
    page.mouse.move(spec["left"] + spec["w"] * 0.5, y)
    r = _readout(page, "audio-timeline")
    assert abs(float(r["freq"]) - 2000) <= 8000 / spec["h"] + 1, r
    assert abs(float(r["db"]) - 20 * math.log10(0.5)) < 0.5, r  # the level torchaudio's spectrogram gives
    assert abs(float(r["time"]) - 1.5) < 3.0 / spec["w"] * 2, r
    assert "B6 +21 ¢" in r["text"] and "kHz" in r["text"]  # 2000 Hz is B6 +21 cents (A4 = 440 Hz)

    # above the tone: far below it
    page.mouse.move(spec["left"] + spec["w"] * 0.5, spec["top"] + (1 - 6000 / 8000) * spec["h"])
    assert float(_readout(page, "audio-timeline")["db"]) < -60

    # wheel up over 1.0 s: zoom in around the cursor, then a tile from the server
    x1 = _x_of(page, "audio-timeline", spec, 1.0)
    page.mouse.move(x1, y)
    for _ in range(3):
        page.mouse.wheel(0, -500)  # each notch: 0.55 of the span
    _settled(page, "audio-timeline")
    s = _state(page, "audio-timeline")
    t0, t1 = float(s["t0"]), float(s["t1"])
    assert t1 - t0 < 0.6 and t0 < 1.0 < t1, s
    assert int(s.get("tiles", "0")) >= 1  # the detail of the zoomed range, computed by the server
    page.mouse.move(x1 + 1, y)
    r = _readout(page, "audio-timeline")
    assert abs(float(r["time"]) - 1.0) < 0.01 and abs(float(r["db"]) - 20 * math.log10(0.5)) < 0.5, r

    # drag pans, double-click shows all again
    page.mouse.down()
    page.mouse.move(x1 + 200, y, steps=5)
    page.mouse.up()
    assert float(_state(page, "audio-timeline")["t0"]) < t0
    page.mouse.dblclick(x1, y)
    expect(page.locator(ROOT.format("audio-timeline"))).to_have_attribute("data-t0", "0.0000")
    expect(page.locator(ROOT.format("audio-timeline"))).to_have_attribute("data-t1", "3.0000")


def test_click_seeks_space_plays_and_pauses_keys_move_the_cursor_and_zoom(page, tmp_path):
    path = signals.write(tmp_path / "tone.wav", signals.sine(440, 16_000, 4.0), 16_000)
    _upload(page, "audio-input", path)
    _ready(page, "audio-timeline")
    wave = _lane(page, "audio-timeline", "wave")
    page.mouse.click(_x_of(page, "audio-timeline", wave, 2.0), wave["top"] + wave["h"] / 2)
    root = page.locator(ROOT.format("audio-timeline"))
    assert abs(float(_state(page, "audio-timeline")["current"]) - 2.0) < 0.02
    page.keyboard.press(" ")
    expect(root).to_have_attribute("data-playing", "true")
    page.wait_for_timeout(700)
    page.keyboard.press(" ")
    expect(root).to_have_attribute("data-playing", "false")
    played = page.locator(ROOT.format("audio-timeline")).evaluate("e => e.timeline.current.currentTime")
    assert 2.2 < played < 3.5, played  # it played from where it was clicked

    stage = page.locator("#audio-timeline .altl-stage")
    expect(stage).to_have_attribute("role", "slider")
    expect(stage).to_have_attribute("aria-label", re.compile("time axis"))
    page.keyboard.press("Home")
    page.keyboard.press("Shift+ArrowRight")
    assert abs(float(_state(page, "audio-timeline")["cursor"]) - 0.4) < 1e-3  # a tenth of the 4 s view
    expect(stage).to_have_attribute("aria-valuetext", re.compile(r"time 0\.40 s"))
    page.keyboard.press("+")
    s = _state(page, "audio-timeline")
    assert abs(float(s["t1"]) - float(s["t0"]) - 2.0) < 1e-3
    page.keyboard.press("0")
    expect(root).to_have_attribute("data-t1", "4.0000")
    # the buttons do the same
    page.locator("#audio-timeline .altl-zoom-in").click()
    expect(root).to_have_attribute("data-t1", re.compile(r"^[0-9.]+$"))
    assert abs(float(_state(page, "audio-timeline")["t1"]) - float(_state(page, "audio-timeline")["t0"]) - 2.0) < 1e-3
    page.locator("#audio-timeline .altl-fit").click()
    expect(root).to_have_attribute("data-t1", "4.0000")


def test_pitch_overlay_reads_the_f0_of_a_tone_and_the_axis_can_be_log_or_mel(page, tmp_path):
    path = signals.write(tmp_path / "a3.wav", signals.sine(220, 16_000, 2.0), 16_000)
    _upload(page, "audio-input", path)
    _ready(page, "audio-timeline")
    page.locator("#audio-timeline input[data-key=tl_pitch]").check()
    expect(page.locator(ROOT.format("audio-timeline"))).to_have_attribute("data-overlays", "pitch", timeout=30_000)
    spec = _lane(page, "audio-timeline", "spec")
    page.mouse.move(spec["left"] + spec["w"] * 0.5, spec["top"] + spec["h"] * 0.9)
    r = _readout(page, "audio-timeline")
    assert abs(float(r["pitch"]) - 220) < 2.2, r  # within 1 %
    assert "A3" in r["text"]
    page.locator("#audio-timeline select[data-key=tl_scale]").select_option("log")
    expect(page.locator(ROOT.format("audio-timeline"))).to_have_attribute("data-scale", "log")
    # on a log axis from 20 Hz (fmax / 2000 = 4 Hz is below it) to 8 kHz, 220 Hz sits at this height
    u = (math.log(220) - math.log(20)) / (math.log(8000) - math.log(20))
    page.mouse.move(spec["left"] + spec["w"] * 0.5, spec["top"] + (1 - u) * spec["h"])
    r = _readout(page, "audio-timeline")
    assert abs(float(r["freq"]) - 220) < 10, r
    page.locator("#audio-timeline select[data-key=tl_colormap]").select_option("cividis")
    expect(page.locator(ROOT.format("audio-timeline"))).to_have_attribute("data-cmap", "cividis")


def test_ab_switch_keeps_the_position_and_one_zoom_moves_both_tracks(page, tmp_path):
    _augment(page, tmp_path, 4.0, '[{"op": "gain", "gain_db": 6}]')
    root = page.locator(ROOT.format("aug-timeline"))
    wave_a = _lane(page, "aug-timeline", "wave", 0)
    wave_b = _lane(page, "aug-timeline", "wave", 1)
    # B is 6 dB louder: its peak readout says so, on the same time axis
    page.mouse.move(wave_a["left"] + wave_a["w"] / 2, wave_a["top"] + 5)
    peak_a = float(_readout(page, "aug-timeline")["db"])
    page.mouse.move(wave_b["left"] + wave_b["w"] / 2, wave_b["top"] + 5)
    peak_b = float(_readout(page, "aug-timeline")["db"])
    assert abs(peak_a - 20 * math.log10(0.25)) < 0.1 and abs(peak_b - peak_a - 6.0) < 0.1, (peak_a, peak_b)

    page.mouse.wheel(0, -600)  # zoom over B: A's lanes follow (one time axis)
    s = _state(page, "aug-timeline")
    page.mouse.move(wave_a["left"] + wave_a["w"] / 2, wave_a["top"] + 5)
    t_a = float(_readout(page, "aug-timeline")["time"])
    assert float(s["t1"]) - float(s["t0"]) < 3.0 and abs(t_a - (float(s["t0"]) + float(s["t1"])) / 2) < 0.02

    page.locator("#aug-timeline .altl-fit").click()
    page.mouse.click(_x_of(page, "aug-timeline", wave_a, 1.0), wave_a["top"] + wave_a["h"] / 2)
    page.keyboard.press(" ")
    expect(root).to_have_attribute("data-playing", "true")
    page.wait_for_timeout(500)
    page.keyboard.press("b")
    expect(root).to_have_attribute("data-active", "1")
    expect(root).to_have_attribute("data-playing", "true")  # switching did not stop or restart playback
    times = root.evaluate("e => e.timeline.players.map(p => p.currentTime)")
    assert 1.3 < times[1] < 2.5 and abs(times[1] - times[0]) < 0.5, times
    expect(page.locator("#aug-timeline .altl-ab-btn[data-track='1']")).to_have_attribute("aria-checked", "true")
    page.keyboard.press(" ")
    expect(root).to_have_attribute("data-playing", "false")
    # loudness matching says by how much it changed B (6 dB louder: -6 dB)
    page.locator("#aug-timeline input[data-key=tl_match]").check()
    expect(root).to_have_attribute("data-gains", re.compile(r"^0\.00 -6\.0\d$"))
    expect(page.locator("#aug-timeline .altl-gain")).to_contain_text("-6.0 dB")


@pytest.mark.parametrize("tier", ["word"])
def test_clicking_an_aligned_word_plays_exactly_that_span(page, tmp_path, monkeypatch, tier):
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    tiny.write_hf_folder(tmp_path / "models" / "tiny-en", tiny.hf_model(11))
    path = signals.write(tmp_path / "speechless.wav", signals.chirp(120, 3000, 16_000, 2.5), 16_000)
    page.get_by_role("tab", name="wav2vec2", exact=True).click()
    page.locator("#wav2vec2-input input[type=file]").set_input_files(str(path))
    page.locator("#wav2vec2-refresh").click()
    model = page.locator("#wav2vec2-model input")
    model.click()
    model.fill("tiny")
    page.get_by_role("option", name=re.compile("tiny-en")).click()
    page.locator("#wav2vec2-run").click()  # emissions first: the timeline shows them under the clip
    _ready(page, "wav2vec2-timeline", 60_000)
    href = page.locator("#wav2vec2-npy a").first.get_attribute("href")
    log_probs = np.load(io.BytesIO(page.request.get(href).body()))  # (frames, tokens), the download
    shown = page.locator(ROOT.format("wav2vec2-timeline")).evaluate(
        "e => { const l = e.timeline.view.tracks[0].layers[0]; return {rows: l.rows, cols: l.cols, "
        "data: Array.from(l.data[0])}; }"
    )
    probs = np.exp(log_probs).T  # (tokens, frames): probabilities 0-1, quantised to 1/255
    assert (shown["rows"], shown["cols"]) == probs.shape
    assert np.abs(np.array(shown["data"]).reshape(probs.shape) / 255 - probs).max() <= 0.5 / 255 + 1e-6
    first_view = page.locator(ROOT.format("wav2vec2-timeline")).get_attribute("data-view-id")

    page.get_by_role("tab", name="Forced alignment").click()
    page.locator("#wav2vec2-align-text textarea").fill("the heat is on")
    page.locator("#wav2vec2-align").click()
    root = page.locator(ROOT.format("wav2vec2-timeline"))
    expect(root).not_to_have_attribute("data-view-id", first_view, timeout=60_000)
    regions = root.evaluate(f"e => e.timeline.view.tracks[0].regions.filter(r => r.tier === '{tier}')")
    assert [r["label"] for r in regions] == ["THE", "HEAT", "IS", "ON"]
    emissions = root.evaluate("e => e.timeline.view.tracks[0].layers[0]")
    assert emissions["name"] == "emissions" and emissions["rows"] == len(emissions["row_labels"])
    lane = _lane(page, "wav2vec2-timeline", "regions")
    word = max(regions, key=lambda r: r["end"] - r["start"])
    x = _x_of(page, "wav2vec2-timeline", lane, (word["start"] + word["end"]) / 2)
    page.mouse.move(x, lane["top"] + lane["h"] / 2)
    assert _readout(page, "wav2vec2-timeline")["label"] == word["label"]
    page.mouse.click(x, lane["top"] + lane["h"] / 2)
    expect(root).to_have_attribute("data-span", f"{word['start']:.3f}-{word['end']:.3f}")
    expect(root).to_have_attribute("data-playing", "true")
    expect(root).to_have_attribute("data-playing", "false", timeout=10_000)  # it stops at the word's end
    end = root.evaluate("e => e.timeline.current.currentTime")
    assert abs(end - word["end"]) < 0.03, (end, word)


def test_on_a_phone_the_timeline_fits_the_screen_and_speaks_chinese(browser, app_url, tmp_path):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, has_touch=True)
    page = context.new_page()
    try:
        page.goto(app_url)
        page.wait_for_selector("#audio-input")
        path = signals.write(tmp_path / "tone.wav", signals.sine(440, 16_000, 2.0, channels=2), 16_000)
        _upload(page, "audio-input", path)
        _ready(page, "audio-timeline")
        box = page.locator("#audio-timeline .altl-stage").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        expect(page.locator("#audio-timeline .altl-play")).to_have_text("播放")
        expect(page.locator("#audio-timeline .altl-fit")).to_have_text("显示全部")
        assert len([lane for lane in _lanes(page, "audio-timeline") if lane["kind"] == "spec"]) == 2  # stereo
        page.locator("#audio-timeline").screenshot(path="/tmp/timeline_phone_zh.png")
    finally:
        context.close()


def test_a_ten_minute_clip_shows_at_once_and_zooms_to_samples(page, tmp_path):
    path = signals.write(tmp_path / "long.flac", signals.chirp(100, 4000, 8_000, 600.0, amp=0.3), 8_000)
    _upload(page, "audio-input", path)
    _ready(page, "audio-timeline", 120_000)
    root = page.locator(ROOT.format("audio-timeline"))
    expect(root).to_have_attribute("data-t1", "600.0000")
    spec = _lane(page, "audio-timeline", "spec")
    page.mouse.move(spec["left"] + spec["w"] * 0.75, spec["top"] + spec["h"] / 2)
    for _ in range(20):
        page.mouse.wheel(0, -800)
    _settled(page, "audio-timeline")
    s = _state(page, "audio-timeline")
    assert float(s["t1"]) - float(s["t0"]) < 0.05, s  # a few hundred samples across the screen
    # the chirp's frequency at the cursor: f(t) = 100 + 3900 t / 600 (linear), within two rows
    page.mouse.move(spec["left"] + spec["w"] * 0.5, spec["top"] + spec["h"] / 2)
    t = float(_readout(page, "audio-timeline")["time"])
    f = 100 + 3900 * t / 600
    page.mouse.move(spec["left"] + spec["w"] * 0.5, spec["top"] + (1 - f / 4000) * spec["h"])
    assert float(_readout(page, "audio-timeline")["db"]) > 20 * math.log10(0.3) - 6
    # the overview strip: clicking a quarter of the way along centres the zoomed view on 150 s
    overview = _lane(page, "audio-timeline", "overview")
    page.mouse.click(overview["left"] + overview["w"] * 0.25, overview["top"] + overview["h"] / 2)
    s = _state(page, "audio-timeline")
    assert abs((float(s["t0"]) + float(s["t1"])) / 2 - 150.0) < 1.0 and float(s["t1"]) - float(s["t0"]) < 0.05, s


def test_one_augment_step_against_the_audio_before_it(page, tmp_path):
    _augment(page, tmp_path, 2.0, '[{"op": "gain", "gain_db": 6}, {"op": "gain", "gain_db": -3}]')
    first = page.locator(ROOT.format("aug-timeline")).get_attribute("data-view-id")
    page.locator("#aug-cmp-step input").click()
    page.get_by_role("option", name=re.compile(r"step 2 \(gain\)")).click()
    expect(page.locator(ROOT.format("aug-timeline"))).not_to_have_attribute("data-view-id", first, timeout=60_000)
    names = page.locator(ROOT.format("aug-timeline")).evaluate("e => e.timeline.view.tracks.map(t => t.name[0])")
    assert names == ["before step 2", "after step 2"]
    wave_a, wave_b = _lane(page, "aug-timeline", "wave", 0), _lane(page, "aug-timeline", "wave", 1)
    page.mouse.move(wave_a["left"] + wave_a["w"] / 2, wave_a["top"] + 5)
    peak_a = float(_readout(page, "aug-timeline")["db"])
    page.mouse.move(wave_b["left"] + wave_b["w"] / 2, wave_b["top"] + 5)
    peak_b = float(_readout(page, "aug-timeline")["db"])
    # before step 2: the input after +6 dB; after it: 3 dB down from there
    assert abs(peak_a - (20 * math.log10(0.25) + 6)) < 0.1 and abs(peak_b - peak_a + 3) < 0.1, (peak_a, peak_b)
    page.get_by_text("Compare A/B: figures and difference spectrogram").click()  # the figures of the same pair
    expect(page.locator("#aug-cmp-metrics")).to_contain_text("-3")  # loudness_difference_db of step 2


def test_a_feature_layer_reads_the_features_own_values_under_the_cursor(page, tmp_path):
    path = signals.write(tmp_path / "chirp.wav", signals.chirp(200, 3000, 16_000, 2.0), 16_000)
    page.get_by_role("tab", name="Features").click()
    _upload(page, "features-input", path)
    page.locator("#features-name").get_by_text("MFCC (T.MFCC)").click()
    page.locator("#features-run").click()
    _ready(page, "features-timeline", 60_000)
    href = page.locator("#features-npy a").first.get_attribute("href")
    mfcc = np.load(io.BytesIO(page.request.get(href).body()))  # (channel, n_mfcc, time), the download
    layer = page.locator(ROOT.format("features-timeline")).evaluate(
        "e => { const l = e.timeline.view.tracks[0].layers[0]; "
        "return {rows: l.rows, cols: l.cols, dt: l.dt, vmin: l.vmin, vmax: l.vmax, name: l.name}; }"
    )
    assert layer["name"] == "mfcc" and (layer["rows"], layer["cols"]) == mfcc.shape[1:]
    lane = _lane(page, "features-timeline", "layer")
    step = (layer["vmax"] - layer["vmin"]) / 255
    for row, frac in ((0, 0.3), (5, 0.6), (12, 0.8)):
        k = round(frac * (mfcc.shape[-1] - 1))
        x = _x_of(page, "features-timeline", lane, k * layer["dt"])
        y = lane["top"] + (1 - (row + 0.5) / layer["rows"]) * lane["h"]
        page.mouse.move(x, y)
        r = _readout(page, "features-timeline")
        assert int(r["row"]) == row and abs(float(r["value"]) - mfcc[0, row, k]) <= step / 2 + 1e-4, (
            r,
            mfcc[0, row, k],
        )
        assert "MFCC coefficient" in r["text"]
