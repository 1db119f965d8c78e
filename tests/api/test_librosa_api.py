"""compare_librosa through gradio_client: librosa's numbers next to torchaudio's, as the Features tab shows them."""

from __future__ import annotations

import json

import librosa
import pytest
import torch
import torchaudio
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from tests import signals

SR = 16_000


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    x = torch.cat([signals.chirp(150, 3000, SR, 1.0), signals.sine(330, SR, 1.0, amp=0.2)])
    path = signals.write(tmp_path_factory.mktemp("librosa-api") / "clip.wav", x, SR)
    return path, torchaudio.load(str(path))[0]


def test_compare_librosa_reports_the_difference_to_librosa_called_directly(client, clip):
    path, x = clip
    params = {"n_fft": 512, "hop_length": 128, "n_mfcc": 13, "n_mels": 40}
    figure, table, code_ta, code_lr, stats = client.predict(
        handle_file(str(path)), "mfcc", json.dumps(params), api_name="/compare_librosa"
    )
    mel = librosa.feature.melspectrogram(y=x[0].numpy(), sr=SR, n_fft=512, hop_length=128, pad_mode="reflect",
                                         n_mels=40, htk=True, norm=None)  # fmt: skip
    direct = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=80.0), n_mfcc=13, norm="ortho")
    assert stats["comparable"] and stats["shape"] == [2, 13, direct.shape[1]]
    assert stats["max_rel_difference"] < 1e-4 and stats["max_abs_difference"] < 0.05
    assert "librosa.feature.mfcc(" in code_lr and "'clip.wav'" in code_lr and "T.MFCC(" in code_ta
    assert "pad_mode" in table and "htk=True" in table
    assert figure.endswith(".png") and f"{stats['max_abs_difference']:.3g}" in table


def test_compare_librosa_refuses_a_feature_librosa_lacks(client, clip):
    with pytest.raises(AppError, match="not for lfcc"):
        client.predict(handle_file(str(clip[0])), "lfcc", "{}", api_name="/compare_librosa")
