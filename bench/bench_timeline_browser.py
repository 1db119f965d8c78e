"""The timeline in headless Chromium (``python -m bench.bench_timeline_browser``): first paint
after the view reaches the page, zoom/pan frames per second, and the server's work to prepare a
view against drawing the Audio tab's PNG figures of the same clip (measured in the same run).

First paint is ``performance.now()`` from the view's arrival in the page (the component's value
changed) to the end of its first full paint. Frames are timed with ``requestAnimationFrame``:
60 steps that each zoom or pan and wait for the next frame, against 60 bare frames (the
browser's frame floor, vsync-paced in headless Chromium).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench.common import RESULTS, Row, machine, measure, table
from tests import signals

FRAMES_JS = """async (steps) => {
  const tl = document.querySelector('#audio-timeline .altl-root').timeline;
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  await frame();
  let t = performance.now();
  for (let i = 0; i < steps; i++) await frame();
  const bare = performance.now() - t;
  const d = tl.view.duration;
  t = performance.now();
  for (let i = 0; i < steps; i++) {
    const { t0, t1 } = tl.range;
    if (i % 2) tl.panBy((t1 - t0) * 0.05); else tl.zoomBy(i < steps / 2 ? 0.85 : 1 / 0.85, d / 3);
    await frame();
  }
  const moved = performance.now() - t;
  const s = performance.now();
  tl.paintBase();
  return { bare, moved, paint: performance.now() - s };
}"""


def _clip(folder: Path, seconds: float) -> Path:
    """Speech-like test audio: a chirp with noise, 16 kHz mono."""
    x = signals.chirp(100, 4000, 16_000, seconds, amp=0.3) + signals.white_noise(16_000, seconds, amp=0.02)
    return signals.write(folder / f"clip_{int(seconds)}s.flac", x, 16_000)


def server_rows(clips: dict[str, Path]) -> list[Row]:
    """The view (``components.timeline.show``) against the Audio tab's two PNGs, and its JSON size."""
    import json

    from audiolab.core import io as aio
    from audiolab.core import plots
    from components import timeline

    rows = []
    for name, path in clips.items():
        decoded = aio.decode(str(path))
        x, rate = decoded.waveform, decoded.sample_rate
        view_s, view_mb = measure(lambda x=x, rate=rate: timeline.show([timeline.Clip(x, rate, "clip")]), repeat=3)
        png_s, _ = measure(lambda x=x, rate=rate: (plots.waveform_image(x, rate), plots.spectrogram_image(x, rate)),
                           repeat=3)  # fmt: skip
        kb = len(json.dumps(timeline.show([timeline.Clip(x, rate, "clip")]))) / 1024
        rows.append(Row("timeline", f"server: prepare the view, {name}", view_s, view_mb,
                        {"Audio tab's waveform + spectrogram PNGs": png_s},
                        note=f"{kb:.0f} kB sent (budget {'300 kB' if '30 s' in name else '2 MB'})"))  # fmt: skip
    return rows


def browser_rows(url: str, clips: dict[str, Path]) -> list[Row]:
    """First paint and zoom/pan frame times in headless Chromium at 1400 x 1000."""
    from playwright.sync_api import sync_playwright

    rows = []
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        for name, path in clips.items():
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.wait_for_selector("#audio-input")
            firsts, frames = [], []
            for _ in range(3):
                page.locator("#audio-input input[type=file]").set_input_files(str(path))
                page.wait_for_function(
                    "() => { const r = document.querySelector('#audio-timeline .altl-root');"
                    " return r && r.timeline.timings && r.timeline.timings.painted; }",
                    timeout=180_000,
                )
                t = page.evaluate("() => document.querySelector('#audio-timeline .altl-root').timeline.timings")
                firsts.append((t["painted"] - t["received"]) / 1000)
                page.wait_for_timeout(3000)  # Gradio's own player decodes the clip meanwhile: not the timeline's frames
                frames.append(page.evaluate(FRAMES_JS, 60))
                page.locator("#audio-input button[aria-label='Clear']").first.click()
                page.wait_for_timeout(500)
            first = statistics.median(firsts)
            moved = statistics.median(f["moved"] for f in frames) / 60 / 1000
            bare = statistics.median(f["bare"] for f in frames) / 60 / 1000
            paint = statistics.median(f["paint"] for f in frames) / 1000
            rows.append(Row("timeline", f"browser: first paint after the view arrives, {name}", first, 0.0,
                            {"goal": 0.3}))  # fmt: skip
            rows.append(Row("timeline", f"browser: one zoom/pan frame, {name}", moved, 0.0,
                            {"bare frame (floor)": bare, "goal 30 frames/s": 1 / 30},
                            note=f"{1 / moved:.0f} frames/s; one full repaint {paint * 1000:.1f} ms"))  # fmt: skip
            page.close()
        browser.close()
    return rows


def run() -> list[Row]:
    """Launch the app in this process and measure."""
    import app

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        clips = {"30 s mono 16 kHz": _clip(Path(tmp), 30.0), "600 s mono 16 kHz": _clip(Path(tmp), 600.0)}
        rows = server_rows(clips)
        _, url, _ = app.demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
        app.after_launch()
        time.sleep(2)
        try:
            rows += browser_rows(url, clips)
        finally:
            app.demo.close()
    return rows


def main() -> None:
    rows = run()
    text = f"{machine()}\n\n{table(rows)}\n"
    print(text)
    (RESULTS / "timeline-browser-cpu.md").write_text(text)


if __name__ == "__main__":
    main()
