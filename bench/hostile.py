"""``python -m bench.hostile``: every audio endpoint x every hostile file, time and peak memory.

Builds the corpus (tests/fixtures/hostile.py) and a tiny wav2vec2 checkpoint, launches the
app in-process, trains a head for ``/classify``, runs the sweep and writes the table to
``bench/results/hostile-<device>.md`` (the figures of the README's reliability section).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from bench.common import RESULTS, machine

MB_BOUND, SECONDS_BOUND = 100, 2.0  # the hardening issue's targets per call


def trained_head(client) -> str:
    """A ``head.pt`` trained on the built-in set through the API (MFCC backbone)."""
    from gradio_client import handle_file

    files, labels, _ = client.predict(0, api_name="/builtin_set")
    settings = ["mfcc", "WAV2VEC2_BASE", 6, 13, 20, 0.01, 0.9, 8, 0.25, 0]
    return client.predict([handle_file(f) for f in files], labels, *settings, api_name="/train_head")[5]


def main() -> None:
    """Run the sweep and print/write the table."""
    from gradio_client import Client

    from audiolab.core import cache
    from audiolab.wav2vec2 import models as w2v_models
    from tests.fixtures import hostile, hostile_sweep, memory
    from tests.fixtures import wav2vec2_tiny as tiny

    if not memory.available():
        sys.exit("needs Linux /proc/self/clear_refs")
    with tempfile.TemporaryDirectory() as tmp:
        tiny.write_hf_folder(Path(tmp) / "models" / "tiny-en", tiny.hf_model(11))
        os.environ[w2v_models.ENV_MODEL_DIR] = str(Path(tmp) / "models")
        corpus = hostile.build(Path(tmp) / "corpus")
        import app

        _, url, _ = app.demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
        client = Client(url, verbose=False)
        outcomes = hostile_sweep.sweep(client, corpus, hostile_sweep.calls(trained_head(client)))
        app.demo.close()
    over = [o for o in outcomes if o.megabytes > MB_BOUND or o.seconds > SECONDS_BOUND]
    worst = "\n".join(f"- `{o.call}` {o.file}: {o.seconds:.2f} s, +{o.megabytes:.0f} MiB" for o in over) or "- none"
    text = (
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, device {cache.default_device()}.\n\n"
        f"{len(corpus)} hostile files x {len(outcomes) // len(corpus)} calls; time is the client's wall clock "
        f"(~0.1 s of it the gradio_client round trip), memory the peak RSS above the call's start.\n\n"
        f"{hostile_sweep.table(outcomes)}\n\nOver {MB_BOUND} MiB or {SECONDS_BOUND:g} s:\n{worst}\n"
    )
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"hostile-{cache.default_device()}.md").write_text(text)


if __name__ == "__main__":
    main()
