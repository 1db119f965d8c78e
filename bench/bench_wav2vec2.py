"""wav2vec2 tab: real-time factor (audio seconds / compute seconds), cold and warm.

No weights can be downloaded here, so the benchmark writes a randomly initialised
WAV2VEC2_ASR_BASE_960H (the real architecture, 94 M parameters) where the bundle's
checkpoint belongs, in a temporary torch hub folder: the real loading path runs, and
compute time is the same as with the trained weights.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
import torchaudio
from gradio_client import handle_file

from audiolab import asr, asr_models, cache
from bench.common import PeakRSS, Row, measure

NAME = "WAV2VEC2_ASR_BASE_960H"


def place_random_bundle(hub: Path) -> None:
    """Write random weights of the bundle's architecture where ``get_model`` looks for them."""
    torch.hub.set_dir(str(hub))
    bundle = getattr(torchaudio.pipelines, NAME)
    path = asr_models.bundle_checkpoint(bundle)
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
        asr._MEMO.clear()
        start = time.perf_counter()
        with PeakRSS() as mem:
            client.predict(handle_file(str(path)), NAME, 20, 2, api_name="/transcribe")
        cold = time.perf_counter() - start
        device = cache.default_device()
        rows.append(Row("wav2vec2", f"/transcribe cold (load + run), 30 s, {device}", cold, mem.extra_mb,
                        note=f"RTF {seconds / cold:.1f}"))  # fmt: skip

        def api():
            asr._MEMO.clear()
            client.predict(handle_file(str(path)), NAME, 20, 2, api_name="/transcribe")

        def engine():
            asr._MEMO.clear()
            asr.emissions(x, rate, model_name=NAME)

        model = asr_models.load_model(NAME)
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
        cache.CACHE.clear()
    return rows
