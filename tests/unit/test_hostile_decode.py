"""The generated hostile corpus: every file decodes or is refused clearly, fast and small."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fixtures import hostile

MEASURE = """
import json, resource, sys, time
from audiolab.core import io as aio
from audiolab.core.errors import AudioLabError
corpus = json.loads(sys.argv[1])
aio.decode(corpus["pcm24.wav"][0])  # warm up: imports, first allocations
results = {}
for name, (path, _) in corpus.items():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    try:
        d = aio.decode(path)
        seconds = time.perf_counter() - start
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        low, high = d.waveform.aminmax()
        outcome = ["ok", list(d.waveform.shape), d.sample_rate, bool(low.isfinite() and high.isfinite()),
                   max(-float(low), float(high)), d.notes]
        del d
    except AudioLabError as err:
        seconds = time.perf_counter() - start
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
        outcome = ["error", str(err)]
    results[name] = [outcome, seconds, grew]
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def results(corpus):
    """Decode every file in a fresh process, recording outcome, seconds and peak RSS growth (MiB)."""
    arg = json.dumps({k: [str(p), e] for k, (p, e) in corpus.items()})
    out = subprocess.run([sys.executable, "-c", MEASURE, arg], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


@pytest.mark.parametrize("name", list(hostile.EXPECTED))
def test_each_hostile_file_decodes_or_is_refused_within_2s_and_100mb(results, name):
    outcome, seconds, grew_mb = results[name]
    expected = hostile.EXPECTED[name]
    assert outcome[0] == expected, outcome
    if expected == "ok":
        _, shape, _, finite, peak, _ = outcome
        assert finite and peak <= 1.0 and shape[-1] > 0
    else:
        assert len(outcome[1]) > 15 and "Traceback" not in outcome[1] and "/tmp" not in outcome[1]
    assert seconds < 2.0
    assert grew_mb < 100


def test_long_files_are_cut_at_the_limits_with_a_note(results):
    for name in ("hour_silent.flac", "hour_6kbps.opus", "384k_8ch_60s.flac"):
        outcome = results[name][0]
        assert any("Only the first" in note for note in outcome[5]), name
    assert results["hour_silent.flac"][0][1] == [1, 600 * 16_000]
    assert results["384k_8ch_60s.flac"][0][1][0] == 8


def test_unknown_length_flac_reads_fully_without_a_cut_note(results):
    outcome = results["flac_total_samples_0.flac"][0]
    assert outcome[1] == [1, 32_000] and outcome[5] == []
