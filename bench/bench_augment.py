"""Augment tab: pitch shift vs ``F.pitch_shift`` (3 s, 16 kHz tone: F.pitch_shift needs GBs and
seconds on long clips), time stretch vs raw torchaudio, and the ``augment`` endpoint."""

from __future__ import annotations

import torchaudio.functional as F
import torchaudio.transforms as T
from gradio_client import handle_file

from audiolab.augment import compute as A
from bench.common import Row, measure
from tests import signals

SPEC, STRETCH, INVERSE = T.Spectrogram(512, power=None), T.TimeStretch(128, 257), T.InverseSpectrogram(512)
CHAIN = '[{"op": "time_stretch", "rate": 1.25}]'
PITCH_STEPS = (2, 4, 7)  # a tone, a third, a fifth (n = +-12 are cheap for both)


def pitch_rows() -> list[Row]:
    """Our pitch shift against torchaudio's, per n_steps."""
    x, sr = signals.sine(220, 16_000, 3.0), 16_000
    rows = []
    for n in PITCH_STEPS:
        t_ref, m_ref = measure(lambda n=n: F.pitch_shift(x, sr, n), repeat=1, warmup=0)
        t_ours, m_ours = measure(lambda n=n: A.pitch_shift(x, n_steps=n), repeat=5)
        rows.append(Row("augment", f"pitch_shift n_steps={n}, 3 s 16 kHz", t_ours, m_ours, {"F.pitch_shift": t_ref},
                        note=f"F.pitch_shift peak +{m_ref:.0f} MiB"))  # fmt: skip
    return rows


def run(client, clips) -> list[Row]:
    """Pitch rows, then time stretch and the endpoint on the 30 s clips."""
    rows = pitch_rows()
    for name, (path, x, rate) in clips.items():
        if x.shape[-1] > 60 * rate:
            continue

        def raw(x=x):
            INVERSE(STRETCH(SPEC(x), 1.25))

        t_raw, _ = measure(raw, repeat=3)
        t_ours, m_ours = measure(lambda x=x: A.time_stretch(x, rate=1.25, n_fft=512), repeat=3)
        t_api, m_api = measure(
            lambda path=path: client.predict(
                handle_file(str(path)), CHAIN, 0, "phase", None, None, api_name="/augment"
            ),
            repeat=3,
        )
        rows.append(
            Row("augment", f"time_stretch 1.25, {name}", t_ours, m_ours, {"Spectrogram+TimeStretch+Inverse": t_raw})
        )
        rows.append(Row("augment", f"/augment time_stretch via gradio_client, {name}", t_api, m_api,
                        {"Spectrogram+TimeStretch+Inverse": t_raw}))  # fmt: skip
    return rows
