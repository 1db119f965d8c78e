"""The Batch tab's endpoint and the recipe buttons, called by name: batch results equal the endpoints'."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from gradio_client import handle_file

from audiolab.batch import recipes
from tests import signals

MFCC = {"version": 1, "feature": "mfcc", "params": {"n_mfcc": 20, "n_fft": 512, "n_mels": 64}}
CHAIN = [{"op": "time_stretch", "rate": 1.2}, {"op": "add_noise", "snr_db": 20, "noise": "white"}]


def clips_zip(tmp_path):
    """A zip of two clips (one in a folder, one stereo 22.05 kHz) and a corrupt file; the clips' paths."""
    a = signals.write(tmp_path / "a.wav", signals.chirp(100, 4000, 16_000, 1.0), 16_000, subtype="FLOAT")
    b = signals.write(tmp_path / "b.wav", torch.cat([signals.sine(300, 22_050), signals.sine(500, 22_050)]), 22_050)
    with zipfile.ZipFile(tmp_path / "clips.zip", "w") as z:
        z.write(a, "a.wav")
        z.write(b, "dir/b.wav")
        z.writestr("dir/corrupt.wav", b"RIFF\0\0\0\0WAVEjunk")
    return tmp_path / "clips.zip", {"a.wav": a, "dir/b.wav": b}


def unzip(path, dest):
    with zipfile.ZipFile(path) as z:
        z.extractall(dest)
    lines = (dest / "manifest.jsonl").read_text().splitlines()
    return {r["path"]: r for r in map(json.loads, lines)}


def test_the_features_recipe_run_as_a_batch_returns_what_the_features_endpoint_returns_per_file(client, tmp_path):
    recipe = Path(client.predict("mfcc", json.dumps(MFCC["params"]), api_name="/features_recipe")).read_text()
    assert json.loads(recipe)["params"]["n_mfcc"] == 20 and json.loads(recipe)["params"]["hop_length"] == 256
    zip_path, clips = clips_zip(tmp_path)
    results, rows, summary, command = client.predict(handle_file(str(zip_path)), recipe, api_name="/batch")
    records = unzip(results, tmp_path / "r")
    assert "3 file(s): 2 ok, 1 failed" in summary and "python -m audiolab.batch --recipe recipe.json" in command
    assert [row[:2] for row in rows["data"]] == [["a.wav", "ok"], ["dir/b.wav", "ok"], ["dir/corrupt.wav", "error"]]
    assert "corrupt" in records["dir/corrupt.wav"]["message"]
    for rel, path in clips.items():
        npy = client.predict(handle_file(str(path)), "mfcc", json.dumps(MFCC["params"]), api_name="/features")[1]
        np.testing.assert_array_equal(np.load(tmp_path / "r" / records[rel]["output"]), np.load(npy))
    assert recipes.same_recipe(json.loads((tmp_path / "r" / "recipe.json").read_text()), recipes.parse_recipe(MFCC))


def test_the_augment_recipe_button_gives_a_recipe_whose_batch_equals_the_augment_endpoint(client, tmp_path):
    recipe_path = client.predict(json.dumps(CHAIN), 7, "phase", api_name="/augment_recipe")
    recipe = json.loads(Path(recipe_path).read_text(encoding="utf-8"))
    assert recipe["version"] == 1 and recipe["seed"] == 7
    assert [step["op"] for step in recipe["chain"]] == ["time_stretch", "add_noise"]
    zip_path, clips = clips_zip(tmp_path)
    results = client.predict(handle_file(str(zip_path)), json.dumps(recipe), api_name="/batch")[0]
    records = unzip(results, tmp_path / "r")
    for rel, path in clips.items():
        download = client.predict(handle_file(str(path)), json.dumps(CHAIN), 7, "phase", None, None,
                                  api_name="/augment")[-1]  # fmt: skip
        got, rate = sf.read(tmp_path / "r" / records[rel]["output"], dtype="float32")
        expected, expected_rate = sf.read(download, dtype="float32")
        assert rate == expected_rate
        np.testing.assert_array_equal(got, expected)


def test_a_bad_recipe_or_upload_gets_a_clear_message_and_the_app_keeps_serving(client, tmp_path):
    from gradio_client.exceptions import AppError

    zip_path, _ = clips_zip(tmp_path)
    for recipe, words in [('{"version": 1, "feature": "mfcc", "params": {"n_fft": 1}}', "n_fft=1 is out of range"),
                          ("<script>alert(1)</script>", "not valid JSON")]:  # fmt: skip
        try:
            client.predict(handle_file(str(zip_path)), recipe, api_name="/batch")
            raise AssertionError("no error")
        except AppError as err:
            assert words in str(err)
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    try:
        client.predict(handle_file(str(tmp_path / "x.zip")), json.dumps(MFCC), api_name="/batch")
        raise AssertionError("no error")
    except AppError as err:
        assert "not a readable zip" in str(err)
    path = client.predict("WAV2VEC2_ASR_BASE_960H", 20, 2, 6, api_name="/layer_features_recipe")
    assert json.loads(Path(path).read_text(encoding="utf-8"))["layer"] == 6
