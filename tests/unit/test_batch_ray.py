"""The Ray engine on a local Ray (2 CPUs, started here): the same outputs as the local engine."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from audiolab.batch import engine, inputs, recipes
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    """A local Ray with 2 CPUs whose workers see a tiny ``local:tiny`` wav2vec2 model; the model."""
    models = tmp_path_factory.mktemp("models")
    model = tiny.hf_model(7)
    tiny.write_hf_folder(models / "tiny", model, normalize=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("AUDIOLAB_MODEL_DIR", str(models))  # before ray.init: its workers inherit it
    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield model
    ray.shutdown()
    mp.undo()


@pytest.fixture
def folder(tmp_path):
    """Three clips (one stereo 22.05 kHz) and a corrupt file."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    signals.write(folder / "a.wav", signals.chirp(100, 5000, 16_000, 1.0), 16_000, subtype="FLOAT")
    signals.write(folder / "sub" / "b.wav", signals.sine(330, 22_050, 1.2, channels=2), 22_050)
    signals.write(folder / "c.wav", signals.white_noise(16_000, 0.7), 16_000, subtype="FLOAT")
    (folder / "corrupt.wav").write_bytes(b"RIFF0000WAVEfmt garbage")
    return folder


def both_engines(recipe: dict, folder, tmp_path) -> tuple[dict, dict]:
    """Manifests of the local engine and the Ray engine on ``folder``."""
    parsed, found = recipes.parse_recipe(recipe), inputs.list_inputs(folder)
    out = {}
    for name in ("local", "ray"):
        summary = engine.run_batch(parsed, found, tmp_path / name, engine=name, workers=2)
        assert (summary.ok, summary.failed, summary.exit_status) == (3, 1, 1)
        lines = (tmp_path / name / "manifest.jsonl").read_text().splitlines()
        out[name] = {r["path"]: r for r in map(json.loads, lines)}
    return out["local"], out["ray"]


def test_features_and_augment_chains_give_the_same_files_on_ray_as_on_the_local_engine(local_ray, folder, tmp_path):
    mfcc = {"version": 1, "feature": "mfcc", "params": {"n_mfcc": 20, "n_fft": 512}}
    local, on_ray = both_engines(mfcc, folder, tmp_path / "f")
    for rel in ("a.wav", "c.wav", "sub/b.wav"):
        assert on_ray[rel]["status"] == "ok" and on_ray[rel]["shape"] == local[rel]["shape"]
        np.testing.assert_array_equal(np.load(tmp_path / "f/ray" / on_ray[rel]["output"]),
                                      np.load(tmp_path / "f/local" / local[rel]["output"]))  # fmt: skip
    assert on_ray["corrupt.wav"]["message"] == local["corrupt.wav"]["message"] != ""
    chain = {"version": 1, "chain": [{"op": "add_noise", "snr_db": 10, "noise": "pink"}, {"op": "gain", "gain_db": -3}],
             "seed": 4}  # fmt: skip
    local, on_ray = both_engines(chain, folder, tmp_path / "a")
    for rel in ("a.wav", "sub/b.wav"):
        ray_wav, rate = sf.read(tmp_path / "a/ray" / on_ray[rel]["output"], dtype="float32")
        local_wav, _ = sf.read(tmp_path / "a/local" / local[rel]["output"], dtype="float32")
        np.testing.assert_array_equal(ray_wav, local_wav)  # same seed, same noise
        assert rate == on_ray[rel]["sample_rate"]


def test_wav2vec2_runs_in_actors_and_equals_the_model_run_directly(local_ray, folder, tmp_path):
    recipe = {"version": 1, "wav2vec2": "emissions", "model": "local:tiny", "chunk_s": 20, "context_s": 2}
    parsed = recipes.parse_recipe(recipe)
    summary = engine.run_batch(parsed, inputs.list_inputs(folder), tmp_path / "out", engine="ray", workers=2)
    assert (summary.ok, summary.failed) == (3, 1)
    for rel in ("a.wav", "c.wav"):
        x, _ = sf.read(folder / rel, dtype="float32", always_2d=True)
        ref = tiny.reference_log_probs(local_ray, torch.from_numpy(x.T.copy())).numpy()
        np.testing.assert_allclose(np.load(tmp_path / "out" / rel.replace(".wav", ".npy")), ref, rtol=1e-4,
                                   atol=1e-4 * np.abs(ref).max())  # fmt: skip
