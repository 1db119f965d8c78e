"""Audio tab: the ``load_audio`` endpoint end to end vs the raw torchaudio/librosa calls."""

from __future__ import annotations

import tempfile

import librosa
import torchaudio
import torchaudio.transforms as T
from gradio_client import handle_file

from audiolab.core import io as aio
from audiolab.core import plots
from bench.common import Row, measure


def run(client, clips) -> list[Row]:
    """Rows for decoding + resampling + views + export of each clip."""
    rows = []
    for name, (path, _, rate) in clips.items():
        target = 16_000 if rate != 16_000 else 8_000
        resample = T.Resample(rate, target)

        def raw(path=path, resample=resample, target=target):
            wav, _ = torchaudio.load(str(path))
            torchaudio.save(tempfile.mktemp(suffix=".flac"), resample(wav), target)

        def api(path=path, target=target):
            client.predict(handle_file(str(path)), 0, -1, str(target), "flac", "16", api_name="/load_audio")

        def engine(path=path, target=target, rate=rate):
            d = aio.decode(path)
            y = aio.resample(d.waveform, rate, target)
            plots.waveform_image(y, target), plots.spectrogram_image(y, target)
            aio.encode(y, target, "flac")

        t_raw, _ = measure(raw, repeat=3)
        t_rosa, _ = measure(lambda path=path, target=target: librosa.load(str(path), sr=target, mono=False), repeat=3)
        t_eng, m_eng = measure(engine, repeat=3)
        t_api, m_api = measure(api, repeat=3)
        rows.append(
            Row(
                "audio",
                f"engine load+resample+views+flac, {name}",
                t_eng,
                m_eng,
                {"torchaudio load+resample+save": t_raw, "librosa.load(sr)": t_rosa},
            )
        )
        rows.append(
            Row(
                "audio",
                f"/load_audio via gradio_client, {name}",
                t_api,
                m_api,
                {"torchaudio load+resample+save": t_raw},
            )
        )
    return rows
