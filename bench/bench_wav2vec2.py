"""wav2vec2 tab: real-time factor (audio seconds / compute seconds), cold and warm, and the
throughput of concurrent requests with and without the micro-batcher (audiolab.wav2vec2.batching).

No weights can be downloaded here, so the benchmark writes a randomly initialised
WAV2VEC2_ASR_BASE_960H (the real architecture, 94 M parameters) where the bundle's
checkpoint belongs, in a temporary torch hub folder: the real loading path runs, and
compute time is the same as with the trained weights.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from pathlib import Path

import torch
import torchaudio
from gradio_client import handle_file

from audiolab.core import cache, limits
from audiolab.wav2vec2 import batching
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import models as w2v_models
from bench.common import PeakRSS, Row, measure
from tests import signals

NAME = "WAV2VEC2_ASR_BASE_960H"


def place_random_bundle(hub: Path) -> None:
    """Write random weights of the bundle's architecture where ``get_model`` looks for them."""
    torch.hub.set_dir(str(hub))
    bundle = getattr(torchaudio.pipelines, NAME)
    path = w2v_models.bundle_checkpoint(bundle)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    state = torchaudio.models.wav2vec2_model(**bundle._params).state_dict()
    for key in ("aux.weight", "aux.bias"):  # fairseq's checkpoints carry 3 rows the bundle drops on load
        state[key] = torch.cat([state[key][:1], torch.zeros(3, *state[key].shape[1:]), state[key][1:]])
    torch.save(state, path)


def run(client, clips) -> list[Row]:
    """Rows for the 30 s mono clip: cold API request, warm API, engine and raw model RTF."""
    path, x, rate = clips["30s mono 16k"]
    seconds = x.shape[-1] / rate
    rows = []
    with tempfile.TemporaryDirectory() as hub:
        place_random_bundle(Path(hub))
        cache.CACHE.clear()
        w2v._MEMO.clear()
        start = time.perf_counter()
        with PeakRSS() as mem:
            client.predict(handle_file(str(path)), NAME, 20, 2, api_name="/transcribe")
        cold = time.perf_counter() - start
        device = cache.default_device()
        rows.append(Row("wav2vec2", f"/transcribe cold (load + run), 30 s, {device}", cold, mem.extra_mb,
                        note=f"RTF {seconds / cold:.1f}"))  # fmt: skip

        def api():
            w2v._MEMO.clear()
            client.predict(handle_file(str(path)), NAME, 20, 2, api_name="/transcribe")

        def engine():
            w2v._MEMO.clear()
            w2v.emissions(x, rate, model_name=NAME)

        model = w2v_models.load_model(NAME)
        dev = next(model.parameters()).device
        xs = x.to(dev)

        def raw():
            with torch.no_grad():
                model.model(xs)
            if dev.type == "cuda":
                torch.cuda.synchronize()

        t_raw, m_raw = measure(raw, repeat=3)
        t_eng, m_eng = measure(engine, repeat=3)
        t_api, m_api = measure(api, repeat=3)
        rows.append(
            Row("wav2vec2", f"raw model(x), one pass, 30 s, {device}", t_raw, m_raw, note=f"RTF {seconds / t_raw:.1f}")
        )
        rows.append(Row("wav2vec2", f"engine emissions (20 s chunks, 2 s context), 30 s, {device}", t_eng, m_eng,
                        {"raw model(x)": t_raw}, note=f"RTF {seconds / t_eng:.1f}"))  # fmt: skip
        rows.append(Row("wav2vec2", f"/transcribe warm via gradio_client, 30 s, {device}", t_api, m_api,
                        {"raw model(x)": t_raw}, note=f"RTF {seconds / t_api:.1f}"))  # fmt: skip
        rows += load_rows(device)
        cache.CACHE.clear()
    return rows


# --- throughput under load --------------------------------------------------------------------

LOAD_SECONDS = 8.0  # each concurrent request analyses its own clip of this length (one chunk)


@contextlib.contextmanager
def max_batch(n: int, device: str):
    """Run the enclosed code with ``limits.W2V_MAX_BATCH = n`` (1: every chunk runs alone), batching
    on ``device`` even where the app does not (``W2V_BATCH_DEVICES``), so both can be compared."""
    saved = limits.W2V_MAX_BATCH, limits.W2V_BATCH_DEVICES
    limits.W2V_MAX_BATCH, limits.W2V_BATCH_DEVICES = n, (device.split(":")[0],)
    try:
        yield
    finally:
        limits.W2V_MAX_BATCH, limits.W2V_BATCH_DEVICES = saved


def concurrent_emissions(clips: list[torch.Tensor]) -> None:
    """``w2v.emissions`` of each 16 kHz clip from its own thread, all started at once (memo cleared)."""
    w2v._MEMO.clear()
    start = threading.Barrier(len(clips))

    def work(x: torch.Tensor) -> None:
        start.wait()
        w2v.emissions(x, 16_000, model_name=NAME)

    threads = [threading.Thread(target=work, args=(x,)) for x in clips]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def load_rows(device: str) -> list[Row]:
    """K = 1, 2, 4 concurrent requests on different 8 s clips: audio seconds per wall second with
    one forward pass per chunk (``W2V_MAX_BATCH = 1``) and batched, and the largest batch."""
    sweeps = [signals.chirp(80 + 60 * k, 6000, 16_000, LOAD_SECONDS, amp=0.4) for k in range(4)]
    clips = [
        (x + signals.white_noise(16_000, LOAD_SECONDS, amp=0.05, seed=k)).clamp(-1, 1) for k, x in enumerate(sweeps)
    ]
    batcher = batching.for_model(w2v_models.load_model(NAME))
    rows = []
    for k in (1, 2, 4):
        found = {}
        for mode, n in (("unbatched", 1), ("batched", limits.W2V_MAX_BATCH)):
            with max_batch(n, device):
                batcher.reset_stats()
                t, mb = measure(lambda k=k: concurrent_emissions(clips[:k]), repeat=3)
                found[mode] = (t, mb, k * LOAD_SECONDS / t, batcher.stats().largest)
        t_un, mb_un, thr_un, big_un = found["unbatched"]
        t_b, mb_b, thr_b, big_b = found["batched"]
        label = f"{k} concurrent emissions(), {LOAD_SECONDS:g} s clip each, {device}"
        rows.append(Row("wav2vec2", f"{label}, unbatched", t_un, mb_un,
                        note=f"{thr_un:.1f} audio-s/s, largest batch {big_un}"))  # fmt: skip
        note = f"{thr_b:.1f} audio-s/s ({thr_b / thr_un:.2f}x throughput), largest batch {big_b}"
        rows.append(Row("wav2vec2", f"{label}, batched", t_b, mb_b, {"unbatched": t_un}, note=note))
    return rows
