"""Compare: the engine (loudness, alignment, metrics, difference spectrogram) vs the same steps in plain
torchaudio, and the ``compare`` endpoint end to end. ``python -m bench.bench_compare`` runs the engine rows."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
import torchaudio.functional as F
import torchaudio.transforms as T
from gradio_client import handle_file

from audiolab.compare import compute as C
from bench.common import Row, inputs, measure, table


def plain_torchaudio(a: torch.Tensor, b: torch.Tensor, rate: int) -> torch.Tensor:
    """The reference: F.loudness of each, SNR and SI-SDR, two spectrograms, AmplitudeToDB, their difference."""
    F.loudness(a, rate), F.loudness(b, rate)
    x, y = a.double(), b.double()
    10 * torch.log10(x.square().sum() / (x - y).square().sum())
    target = (y * x).sum(-1, keepdim=True) / x.square().sum(-1, keepdim=True) * x
    10 * torch.log10(target.square().sum(-1) / (y - target).square().sum(-1))
    spec, to_db = T.Spectrogram(n_fft=1024, hop_length=256, power=2.0), T.AmplitudeToDB("power", top_db=None)
    pa, pb = spec(a), spec(b)
    (10 * (pa.clamp_min(1e-10).log10() - pb.clamp_min(1e-10).log10())).square().mean(-2).sqrt().mean()
    return to_db(pb) - to_db(pa)


def engine_rows(clips) -> list[Row]:
    """Engine vs plain torchaudio on the 30 s clips (B = A plus noise)."""
    rows = []
    for name, (_, x, rate) in clips.items():
        if x.shape[-1] > 60 * rate:
            continue
        b = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
        t_ref, _ = measure(lambda x=x, b=b, rate=rate: plain_torchaudio(x, b, rate), repeat=5)
        t_ours, m_ours = measure(lambda x=x, b=b, rate=rate: C.compare(x, rate, b, rate), repeat=5)
        rows.append(Row("compare", f"compare (time), {name}", t_ours, m_ours, {"plain torchaudio": t_ref}))
    return rows


def run(client, clips) -> list[Row]:
    """Engine rows, then ``/compare`` via gradio_client on the same clips."""
    rows = engine_rows(clips)
    for name, (path, x, rate) in clips.items():
        if x.shape[-1] > 60 * rate:
            continue
        t_api, m_api = measure(lambda path=path: client.predict(handle_file(str(path)), handle_file(str(path)),
                                                                "time", api_name="/compare"), repeat=3)  # fmt: skip
        rows.append(Row("compare", f"/compare via gradio_client, {name}", t_api, m_api))
    return rows


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        print(table(engine_rows(inputs(Path(tmp)))))
