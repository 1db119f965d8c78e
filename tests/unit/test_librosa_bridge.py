"""The librosa bridge: librosa's numbers with torchaudio's conventions, checked against librosa and torchaudio
called directly."""

from __future__ import annotations

import subprocess
import sys

import librosa
import numpy as np
import pytest
import torch
import torchaudio.functional as F
import torchaudio.transforms as T

from audiolab.core.errors import AudioLabError
from audiolab.features import compute as ft
from audiolab.features import librosa_bridge as lb
from tests import signals

SR = 16_000


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    """1.5 s stereo: a chirp and a quieter tone."""
    return torch.cat([signals.chirp(150, 3000, SR, 1.5), signals.sine(330, SR, 1.5, amp=0.3)])


def rel(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.abs(a[ok] - b[ok]).max() / np.abs(b[ok]).max())


def test_mel_spectrogram_equals_librosa_called_with_torchaudios_conventions(x):
    params = {"n_fft": 512, "hop_length": 128, "n_mels": 40, "db": False}
    c = lb.compare(ft.compute(x, SR, "mel_spectrogram", params))
    y = x.numpy()
    direct = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=512, hop_length=128, center=True, pad_mode="reflect",
                                            power=2.0, n_mels=40, htk=True, norm=None)  # fmt: skip
    torch_direct = T.MelSpectrogram(SR, n_fft=512, hop_length=128, n_mels=40)(x).numpy()
    assert c.librosa.shape == direct.shape == torch_direct.shape
    assert rel(c.librosa, direct) < 1e-5 and rel(c.librosa, torch_direct) < 1e-4
    assert c.stats()["max_rel_difference"] < 1e-4 and c.comparable


def test_librosas_own_defaults_give_other_numbers_which_is_what_the_table_explains(x):
    c = lb.compare(ft.compute(x, SR, "mel_spectrogram", {"n_fft": 512, "hop_length": 128, "n_mels": 40, "db": False}))
    defaults = librosa.feature.melspectrogram(y=x.numpy(), sr=SR, n_fft=512, hop_length=128, n_mels=40)
    assert rel(defaults, c.torchaudio) > 0.5  # constant padding, Slaney scale and norm
    table = {row[0]: row for row in c.conventions}
    assert "'constant'" in table["pad_mode"][2] and "htk=True" in table["mel scale"][2]
    assert "'slaney'" in table["filter norm"][2]


def test_mfcc_equals_torchaudio_and_librosa(x):
    params = {"n_fft": 400, "hop_length": 160, "n_mels": 40, "n_mfcc": 13}
    c = lb.compare(ft.compute(x, SR, "mfcc", params))
    melkwargs = {"n_fft": 400, "hop_length": 160, "n_mels": 40}
    torch_direct = T.MFCC(SR, n_mfcc=13, melkwargs=melkwargs)(x.unsqueeze(1)).squeeze(1).numpy()
    mel = librosa.feature.melspectrogram(y=x.numpy(), sr=SR, n_fft=400, hop_length=160, pad_mode="reflect",
                                         n_mels=40, htk=True, norm=None)  # fmt: skip
    db = np.stack([librosa.power_to_db(m, ref=1.0, amin=1e-10, top_db=80.0) for m in mel])  # per channel
    direct = librosa.feature.mfcc(S=db, n_mfcc=13, dct_type=2, norm="ortho")
    assert rel(c.librosa, direct) < 1e-5
    assert rel(c.librosa, torch_direct) < 1e-4 and rel(c.torchaudio, torch_direct) < 1e-5


def test_spectral_centroid_and_deltas_match_where_defined(x):
    p = {"n_fft": 512, "hop_length": 128}
    c = lb.compare(ft.compute(x, SR, "spectral_centroid", p))
    direct = librosa.feature.spectral_centroid(y=x.numpy(), sr=SR, n_fft=512, hop_length=128, pad_mode="reflect")
    assert rel(c.librosa, direct[:, 0]) < 1e-5 and c.stats()["max_rel_difference"] < 1e-4
    mfcc = T.MFCC(SR, n_mfcc=13, melkwargs={"n_fft": 400, "hop_length": 160, "n_mels": 40})(x.unsqueeze(1))[:, 0]
    d = lb.compare(ft.compute(x, SR, "deltas", {"base": "mfcc", "n_fft": 400, "hop_length": 160, "n_mels": 40,
                                                "n_mfcc": 13, "delta_order": 1, "delta_win_length": 5}))  # fmt: skip
    direct = librosa.feature.delta(mfcc.numpy(), width=5, order=1, mode="nearest")
    np.testing.assert_allclose(d.librosa[:, 0], direct, atol=1e-3)
    np.testing.assert_allclose(d.torchaudio[:, 0], F.compute_deltas(mfcc, win_length=5).numpy(), atol=1e-3)
    assert d.stats()["max_rel_difference"] < 1e-4


def test_pitch_trackers_are_shown_side_by_side_not_matched():
    tone = torch.cat([signals.sine(220, SR, 1.0), signals.sine(220, SR, 1.0)])
    c = lb.compare(ft.compute(tone, SR, "pitch_detect", {}))
    assert not c.comparable and c.librosa.shape == c.torchaudio.shape
    yin = librosa.yin(tone[0].numpy(), fmin=85, fmax=3400, sr=SR, frame_length=2048, hop_length=160)
    assert np.nanmedian(c.librosa[0]) == pytest.approx(np.median(yin), rel=1e-3)
    assert np.nanmedian(c.librosa[0]) == pytest.approx(220, rel=0.02)
    assert np.nanmedian(c.torchaudio[0]) == pytest.approx(220, rel=0.02)
    assert "different algorithm" in " ".join(row[2] for row in c.conventions)


def test_the_librosa_code_gives_the_bridges_numbers(x, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    signals.write(tmp_path / "input.wav", x, SR, subtype="FLOAT")
    params = {"n_fft": 512, "hop_length": 256, "n_mels": 32, "db": True, "mel_scale": "slaney", "mel_norm": "slaney"}
    c = lb.compare(ft.compute(x, SR, "mel_spectrogram", params))
    scope: dict = {}
    exec(c.code, scope)
    np.testing.assert_allclose(scope["feature"], c.librosa[0], atol=1e-4)
    assert c.stats()["max_abs_difference"] < 0.01  # dB


def test_features_without_a_librosa_counterpart_are_refused_in_both_languages(x):
    with pytest.raises(AudioLabError, match="not for loudness") as err:
        lb.compare(ft.compute(x, SR, "loudness", {}))
    assert "loudness" in err.value.zh and "librosa" in err.value.zh


def test_librosa_is_imported_only_when_a_comparison_is_asked_for():
    code = "import sys, app; print('librosa' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=240)
    assert out.stdout.split()[-2:] == ["False", "False"]


def test_the_panel_text_follows_the_page_language(x):
    from components.librosa_panel import comparison_markdown

    mel = lb.compare(ft.compute(x, SR, "mel_spectrogram", {"db": False})).stats()
    zh, en = comparison_markdown(mel, "zh-CN"), comparison_markdown(mel, "en")
    assert "最大绝对差" in zh and "| 居中填充 |" in zh and "| 梅尔刻度 |" in zh and "centre padding" not in zh
    assert f"{mel['max_abs_difference']:.3g}" in zh and "| centre padding |" in en
    tone = torch.cat([signals.sine(220, SR, 1.0), signals.sine(220, SR, 1.0)])
    pitch = lb.compare(ft.compute(tone, SR, "pitch_detect", {})).stats()
    pitch_zh = comparison_markdown(pitch, "zh")
    assert "声道 0：torchaudio 中位数" in pitch_zh and "| 算法 |" in pitch_zh
    assert "channel 0: torchaudio median" in comparison_markdown(pitch, "en")
