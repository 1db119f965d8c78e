"""The librosa bridge: what "Compare with librosa" costs next to the torchaudio feature itself.

``python -m bench.bench_librosa``: (1) the first comparison in a fresh process (librosa's import
and numba's compile included) against the torchaudio feature in that process; (2) warm, each
feature's librosa equivalent against the app's torchaudio computation of the same settings,
measured in the same run. Writes bench/results/librosa-cpu.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from audiolab.features import compute as ft
from audiolab.features import librosa_bridge as lb
from bench.common import RESULTS, Row, inputs, machine, measure, table

FEATURES = ["spectrogram", "mel_spectrogram", "mfcc", "spectral_centroid", "deltas", "pitch_detect"]

COLD = """
import json, sys, time
import torchaudio
from audiolab.core import io as aio
from audiolab.features import compute as ft
x = aio.decode(sys.argv[1])
t0 = time.perf_counter(); result = ft.compute(x.waveform, x.sample_rate, "mfcc", {}); ours = time.perf_counter() - t0
t0 = time.perf_counter()
from audiolab.features import librosa_bridge as lb
lb.compare(result)
first = time.perf_counter() - t0
t0 = time.perf_counter(); lb.compare(result); second = time.perf_counter() - t0
print("RESULT", json.dumps({"torchaudio": ours, "first": first, "second": second}))
"""


def cold_rows(clip: Path) -> list[Row]:
    """First and second comparison (MFCC) in a fresh process, against torchaudio's MFCC there."""
    out = subprocess.run([sys.executable, "-c", COLD, str(clip)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    r = json.loads(out.stdout.split("RESULT", 1)[1])
    ref = {"torchaudio MFCC": r["torchaudio"]}
    return [
        Row("librosa", "first compare, fresh process (import + numba compile)", r["first"], 0.0, ref),
        Row("librosa", "second compare, same process", r["second"], 0.0, ref),
    ]


def warm_rows(clips) -> list[Row]:
    """Each feature: librosa's equivalent (warm) vs the app's torchaudio computation of the same settings."""
    rows = []
    for clip_name in ("30s mono 16k", "30s stereo 44.1k"):
        _, x, rate = clips[clip_name]
        for feature in FEATURES:
            result = ft.compute(x, rate, feature, {})
            ours, _ = measure(lambda f=feature, x=x, rate=rate: ft.compute(x, rate, f, {}), repeat=3)
            theirs, mb = measure(lambda r=result: lb.compare(r), repeat=3)
            diff = lb.compare(result).stats()
            note = f"max rel. difference {diff['max_rel_difference']:.2g}" if diff["comparable"] else "YIN vs NCCF"
            rows.append(Row("librosa", f"{feature}, {clip_name}", theirs, mb, {"torchaudio (app)": ours}, note))
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clips = inputs(Path(tmp))
        rows = cold_rows(clips["30s mono 16k"][0]) + warm_rows(clips)
    text = f"# librosa bridge\n\n{machine()}\n\n{table(rows)}\n"
    print(text)
    (RESULTS / "librosa-cpu.md").write_text(text)


if __name__ == "__main__":
    main()
