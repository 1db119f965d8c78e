"""Start-up: launch to first answered request against the import floor, first vs second
request of each tab, and the app's resident memory (``python -m bench.bench_startup``).

Each measurement runs in a fresh Python process, so nothing is warm that a real start
would not have warmed. The import floor is ``import torch, torchaudio, gradio``, timed in the
same process before the app is imported (on a shared machine the import time of these
libraries varies by a second from one process to the next; a floor measured in another process
would add that noise to the ratio). The ratio is the median of the per-process ratios.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import RESULTS, machine
from tests import signals

# One request per tab, called twice in a row in a fresh app: (api_name, args builder).
CALLS = """
import json, time, sys
t0 = time.perf_counter()
import torch, torchaudio, gradio
floor = time.perf_counter() - t0
import app
_, url, _ = app.demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
app.after_launch()
from gradio_client import Client, handle_file
c = Client(url, verbose=False)
clip = handle_file(sys.argv[1])
c.predict(clip, api_name="/info")
ready = time.perf_counter() - t0

def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmRSS"))

time.sleep(3)  # let the background warm-up finish: idle memory after start
out = {"floor_s": floor, "ready_s": ready, "idle_mb": rss(), "requests": {}}
calls = {
    "load_audio": (clip, 0, -1, "8000", "flac", "16"),
    "features": (clip, "mfcc", "{}"),
    "augment": (clip, '[{"op": "gain", "gain_db": -6}]', 0, "phase", None, None),
    "griffin_lim": (clip, "linear", 512, 512, 128, 2.0, 8, 0.99, True, 0, 0, 64),
}
for name, args in calls.items():
    times = []
    for _ in range(2):
        s = time.perf_counter()
        c.predict(*args, api_name="/" + name)
        times.append(time.perf_counter() - s)
    out["requests"][name] = times
out["after_requests_mb"] = rss()
print("RESULT", json.dumps(out), flush=True)
app.demo.close()
"""


def _run(code: str, *args: str) -> str:
    """Run ``code`` in a fresh interpreter and return its last stdout line."""
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    lines = done.stdout.strip().splitlines()
    return next((ln.removeprefix("RESULT ") for ln in lines if ln.startswith("RESULT ")), lines[-1])


def measure(repeat: int = 5) -> dict:
    """Medians over ``repeat`` fresh processes of the floor, the start and each tab's first and second request."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = str(signals.write(Path(tmp) / "c.wav", signals.chirp(seconds=3.0), 16_000))
        runs = [json.loads(_run(CALLS, clip)) for _ in range(repeat)]
    names = runs[0]["requests"]
    return {
        "floor_s": statistics.median(r["floor_s"] for r in runs),
        "ready_s": statistics.median(r["ready_s"] for r in runs),
        "ready_ratio": statistics.median(r["ready_s"] / r["floor_s"] for r in runs),
        "ready_ratios": sorted(r["ready_s"] / r["floor_s"] for r in runs),
        "idle_mb": statistics.median(r["idle_mb"] for r in runs),
        "after_requests_mb": statistics.median(r["after_requests_mb"] for r in runs),
        "first_s": {n: statistics.median(r["requests"][n][0] for r in runs) for n in names},
        "second_s": {n: statistics.median(r["requests"][n][1] for r in runs) for n in names},
    }


def report(m: dict) -> str:
    """Markdown: the ratios the start-up goals are stated in."""
    lines = [
        f"Start-up, medians of fresh processes, on {machine()}.",
        "",
        "| what | seconds | ratio |",
        "|---|---:|---:|",
        f"| import floor (`import torch, torchaudio, gradio`) | {m['floor_s']:.2f} | 1.00x |",
        f"| launch to first answered request (`/info`) | {m['ready_s']:.2f} | {m['ready_ratio']:.2f}x |",
    ]
    for name, first in m["first_s"].items():
        second = m["second_s"][name]
        lines.append(f"| `/{name}` first / second request | {first:.3f} / {second:.3f} | {first / second:.2f}x |")
    ratios = ", ".join(f"{r:.2f}" for r in m["ready_ratios"])
    lines += [
        "",
        f"Launch to first answered request over the import floor in each of the {len(m['ready_ratios'])} "
        f"processes: {ratios} (the table gives their median).",
        "",
        f"Resident memory: {m['idle_mb']:.0f} MB idle after start (warm-up done), "
        f"{m['after_requests_mb']:.0f} MB after two requests of each tab above.",
    ]
    return "\n".join(lines)


def main() -> None:
    """Measure, print, and write bench/results/startup-cpu.md."""
    text = report(measure())
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup-cpu.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
