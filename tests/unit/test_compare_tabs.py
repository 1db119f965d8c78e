"""Augment and Griffin-Lim get their A/B figures from the Compare engine: the same numbers as their own."""

from __future__ import annotations

import numpy as np
import pytest
import torchaudio.transforms as T

from audiolab.augment import compute as augment
from audiolab.griffinlim import compute as griffinlim
from components.augment_tab import compare_result
from components.griffinlim_tab import compare_reconstructions
from tests import signals

SR = 16_000


def test_griffin_lim_compare_gives_the_tabs_snr_and_si_sdr_for_both_reconstructions(tmp_path):
    x = signals.chirp(200, 4000, SR, 1.0, amp=0.3)
    run = griffinlim.reconstruct(x, SR, n_fft=512, n_iter=8, seed=1)
    original = signals.write(tmp_path / "chirp.wav", x, SR, "FLOAT")
    gl = signals.write(tmp_path / "griffin_lim.wav", run.griffin_lim, SR, "FLOAT")
    true = signals.write(tmp_path / "true_phase_inverse.wav", run.true_phase, SR, "FLOAT")
    report, files, code = compare_reconstructions(str(original), str(gl), str(true), "time", False)
    for name in ("griffin_lim", "true_phase_inverse"):
        for key in ("snr_db", "si_sdr_db"):
            assert report[name][key] == pytest.approx(run.metrics[name][key], abs=1e-3), (name, key)
    spec, to_db = T.Spectrogram(n_fft=1024, hop_length=256, power=2.0), T.AmplitudeToDB("power", top_db=None)
    expected = (to_db(spec(run.griffin_lim)) - to_db(spec(x))).numpy()
    np.testing.assert_allclose(np.load(files[0]), expected, atol=1e-3, rtol=0)
    assert len(files) == 2 and "torchaudio.load('griffin_lim.wav'" in code


def test_augment_compare_measures_the_result_against_the_input(tmp_path):
    x = signals.chirp(200, 4000, SR, 2.0, amp=0.1)
    r = augment.run_chain(x, SR, [{"op": "gain", "gain_db": 6.0}], seed=0)
    inp = signals.write(tmp_path / "in.wav", x, SR, "FLOAT")
    out = signals.write(tmp_path / "augmented.wav", r.waveform, r.sample_rate, "FLOAT")
    report, npy, _ = compare_result(str(inp), str(out), "time", True)
    assert report["loudness_difference_db"] == pytest.approx(6.0, abs=1e-3)
    assert report["b_gain_db"] == pytest.approx(-6.0, abs=1e-3)
    assert np.median(np.abs(np.load(npy))) < 1e-3


def test_stretched_results_line_up_by_content(tmp_path):
    x = signals.chirp(200, 4000, SR, 2.0, amp=0.1)
    r = augment.run_chain(x, SR, [{"op": "time_stretch", "rate": 1.25}], seed=0)
    inp = signals.write(tmp_path / "in.wav", x, SR, "FLOAT")
    out = signals.write(tmp_path / "augmented.wav", r.waveform, r.sample_rate, "FLOAT")
    report, _, _ = compare_result(str(inp), str(out), "content", False)
    assert report["time_scale"] == pytest.approx(r.waveform.shape[-1] / x.shape[-1]) and report["snr_db"] is None
    assert report["time_scale"] == pytest.approx(0.8, abs=1e-3)


def test_the_panel_and_the_a_b_timeline_of_one_click_share_one_comparison(tmp_path, monkeypatch):
    import os

    from audiolab.compare import compute as compare_engine
    from components import compare_tab

    x = signals.chirp(200, 4000, SR, 1.0, amp=0.3)
    a = signals.write(tmp_path / "a.wav", x, SR, "FLOAT")
    b = signals.write(tmp_path / "b.wav", 0.5 * x, SR, "FLOAT")
    calls = []
    engine_compare = compare_engine.compare
    monkeypatch.setattr(compare_engine, "compare", lambda *a, **k: calls.append(k) or engine_compare(*a, **k))
    monkeypatch.setattr(compare_tab, "_recent", type(compare_tab._recent)())
    report, _, _ = compare_tab.compare_paths(str(a), str(b), "time", False)
    compare_tab.ab_view(str(a), [(str(b), "B")], "time", name_a="A")
    again, _, _ = compare_tab.compare_paths(str(a), str(b), "time", False)
    assert len(calls) == 1 and again == report  # notes are not added twice to the kept comparison
    assert report["loudness_difference_db"] == pytest.approx(-6.02, abs=0.01)  # 20 log10(0.5)
    compare_tab.compare_paths(str(a), str(b), "time", True)  # other settings: computed
    signals.write(b, 0.25 * x, SR, "FLOAT")
    os.utime(b, ns=(os.stat(b).st_atime_ns, os.stat(b).st_mtime_ns + 1_000_000))  # a new version of B
    changed, _, _ = compare_tab.compare_paths(str(a), str(b), "time", False)
    assert len(calls) == 3 and changed["loudness_difference_db"] == pytest.approx(-12.04, abs=0.01)
