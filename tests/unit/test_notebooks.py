"""Each tab's "Download as notebook": executed headless (nbclient + ipykernel), its final tensor equals
the app's download for the same request."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
import soundfile as sf
import torch
from nbclient import NotebookClient

from audiolab.core import notebook
from audiolab.train import compute as train
from components import audio_tab, augment_tab, features_tab, griffinlim_tab, train_tab, wav2vec2_tab
from components.notebooks import notebook_file
from tests import signals

SR = 16_000


@pytest.fixture
def clip(tmp_path) -> Path:
    """A 1.5 s stereo 16 kHz WAV (a chirp and a tone) in its own folder."""
    x = torch.cat([signals.chirp(150, 3000, SR, 1.5), signals.sine(330, SR, 1.5, amp=0.3)])
    (tmp_path / "upload").mkdir()
    return signals.write(tmp_path / "upload" / "clip.wav", x, SR)


def execute(nb_path: str, folder: Path, final: str) -> np.ndarray:
    """Run the notebook in ``folder`` (the audio file next to it), then return ``final`` as a NumPy array."""
    nb = nbformat.read(nb_path, as_version=4)
    save = f"import numpy as np\nnp.save('final.npy', torch.as_tensor({final}).detach().cpu().numpy())"
    nb.cells.append(nbformat.v4.new_code_cell(save))
    NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return np.load(folder / "final.npy")


def beside(audio: Path, folder: Path) -> Path:
    """``folder`` with a copy of the audio file, as the notebook asks."""
    folder.mkdir(exist_ok=True)
    shutil.copy(audio, folder / audio.name)
    return folder


def wav(path: str) -> np.ndarray:
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    return data.T


def test_split_cells_keeps_imports_brackets_and_functions_together():
    code = "import torch\nimport torchaudio\n\nx = f(\n    1,\n\n    2,\n)\n\n"
    code += "def g():\n    a = 1\n\n    return a\n\ny = g()\n"
    assert notebook.split_cells(code) == ["import torch\nimport torchaudio", "x = f(\n    1,\n\n    2,\n)",
                                          "def g():\n    a = 1\n\n    return a", "y = g()"]  # fmt: skip


def test_the_notebook_is_explained_in_the_ui_language_and_installs_the_pinned_versions(clip):
    code = features_tab.features(str(clip), "mfcc", "{}")[3]
    zh = nbformat.read(notebook_file(code, "features", "zh-CN"), as_version=4)
    en = nbformat.read(notebook_file(code, "features", "en-US"), as_version=4)
    assert "用 torchaudio 计算音频特征" in zh.cells[0].source and "`clip.wav`" in zh.cells[0].source
    assert en.cells[0].source.startswith("# Audio features with torchaudio")
    install = en.cells[2].source
    assert "'torchaudio': '2.11.0'" in install and "'torchcodec': '0.17.0'" in install and "pip" in install
    code_cells = [c.source for c in en.cells if c.cell_type == "code"][1:-1]
    assert "\n\n".join(code_cells) == code.strip()  # the panel's code, unchanged, split into cells
    assert all(c.source for c in zh.cells if c.cell_type == "markdown")
    assert notebook_file("", "features") is None


def test_audio_notebook_gives_the_exported_waveform(clip, tmp_path):
    out = audio_tab.load_audio(str(clip), 1000, 12_000, "8000", "wav", "float")
    got = execute(notebook_file(out[6], "audio"), beside(clip, tmp_path / "nb"), "waveform")
    np.testing.assert_allclose(got, wav(out[5]), atol=1e-6)


def test_features_notebook_gives_the_npy_download(clip, tmp_path):
    out = features_tab.features(str(clip), "mel_spectrogram", json.dumps({"n_fft": 512, "n_mels": 40}))
    got = execute(notebook_file(out[3], "features"), beside(clip, tmp_path / "nb"), "feature")
    expected = np.load(out[1])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))


def test_augment_notebook_gives_the_float_wav_download(clip, tmp_path):
    chain = json.dumps([{"op": "speed", "factor": 1.25}, {"op": "add_noise", "snr_db": 20, "noise": "pink"}])
    out = augment_tab.augment_audio(str(clip), chain, 3, "phase", None, None)
    got = execute(notebook_file(out[5], "augment"), beside(clip, tmp_path / "nb"), "waveform")
    np.testing.assert_allclose(got, wav(out[6]), atol=1e-5)


def test_griffinlim_notebook_gives_the_reconstruction_download(clip, tmp_path):
    out = griffinlim_tab.griffin_lim(str(clip), "linear", 512, 512, 128, 2.0, 8, 0.99, True, 0, 0, 80)
    got = execute(notebook_file(out[-1], "griffinlim"), beside(clip, tmp_path / "nb"), "reconstruction")
    np.testing.assert_allclose(got, wav(out[0]), atol=1e-4)


@pytest.mark.usefixtures("fresh_wav2vec2_cache", "tiny_en")
def test_wav2vec2_notebook_gives_the_emissions_download(clip, tmp_path):
    out = wav2vec2_tab.emissions(str(clip), "local:tiny-en", 20, 2)
    got = execute(notebook_file(out[4], "wav2vec2"), beside(clip, tmp_path / "nb"), "emission[0]")
    np.testing.assert_allclose(got, np.load(out[2]), atol=2e-4)


def test_train_notebook_gives_the_head_of_the_download(tmp_path):
    paths, labels, _ = train_tab.builtin_set(1)
    small = [i for i, label in enumerate(json.loads(labels)) if i % 16 < 4]  # 4 clips a label
    settings = ("mfcc", "WAV2VEC2_BASE", 6, 13, 5, 0.05, 0.9, 4, 0.25, 2)
    *_, last = train_tab.train_head([paths[i] for i in small], json.dumps([json.loads(labels)[i] for i in small]),
                                    *settings)  # fmt: skip
    head, bundle, code = last[5], last[6], last[7]
    folder = tmp_path / "nb"
    zipfile.ZipFile(bundle).extractall(folder)
    got = execute(notebook_file(code, "train"), folder, "fc.weight")
    expected = train.TrainedHead.from_bytes(Path(head).read_bytes()).state_dict["fc.weight"]
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-5, rtol=1e-4)
