"""``python -m bench``: run every benchmark, print the table, write bench/results/latest.md."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench import (
    bench_audio,
    bench_augment,
    bench_compare,
    bench_features,
    bench_griffinlim,
    bench_timeline,
    bench_wav2vec2,
)
from bench.common import RESULTS, Row, inputs, machine, table

BENCHES = {
    "audio": bench_audio,
    "augment": bench_augment,
    "compare": bench_compare,
    "features": bench_features,
    "griffinlim": bench_griffinlim,
    "timeline": bench_timeline,
    "wav2vec2": bench_wav2vec2,
}


def cold_start() -> Row:
    """Seconds from starting ``app.py`` to its first answered request (a fresh process)."""
    code = (
        "import time, sys; t0 = time.perf_counter()\n"
        "import app\n"
        "_, url, _ = app.demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs())\n"
        "from gradio_client import Client, handle_file\n"
        "c = Client(url, verbose=False)\n"
        "c.predict(handle_file(sys.argv[1]), api_name='/info')\n"
        "print(time.perf_counter() - t0)\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        from tests import signals

        clip = signals.write(Path(tmp) / "c.wav", signals.sine(), 16_000)
        out = subprocess.run([sys.executable, "-c", code, str(clip)], capture_output=True, text=True, check=True)
    return Row("app", "cold start: launch to first answered request", float(out.stdout.split()[-1]), 0.0)


def client_floor(client) -> Row:
    """The fixed cost of one gradio_client round trip: ``/info`` on a 0.1 s clip."""
    from gradio_client import handle_file

    from bench.common import measure
    from tests import signals

    with tempfile.TemporaryDirectory() as tmp:
        clip = signals.write(Path(tmp) / "tiny.wav", signals.sine(seconds=0.1), 16_000)
        seconds, mb = measure(lambda: client.predict(handle_file(str(clip)), api_name="/info"), repeat=7)
    return Row("app", "gradio_client round trip floor (/info, 0.1 s clip)", seconds, mb)


def main(argv: list[str] | None = None) -> None:
    """Run the chosen benchmarks (default: all) and write the results file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", choices=[*BENCHES, []], help="benchmarks to run (default: all)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = parser.parse_args(argv)
    torch.set_num_threads(torch.get_num_threads())
    from audiolab.core import cache

    cache.set_default_device(args.device)
    from gradio_client import Client

    import app

    _, url, _ = app.demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
    client = Client(url, verbose=False)
    rows: list[Row] = [cold_start(), client_floor(client)]
    with tempfile.TemporaryDirectory() as tmp:
        clips = inputs(Path(tmp))
        for name in args.only or BENCHES:
            rows += BENCHES[name].run(client, clips)
    app.demo.close()
    text = f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, device {cache.default_device()}.\n\n{table(rows)}\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"latest-{cache.default_device()}.md").write_text(text)


if __name__ == "__main__":
    main()
