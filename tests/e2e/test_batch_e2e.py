"""Batch in a real browser: a recipe downloaded from the Features tab runs unchanged on the command
line, and in the Batch tab on a zip."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.transforms as T
from playwright.sync_api import expect

from tests import signals

ROOT = Path(__file__).resolve().parents[2]


def folder_of_clips(tmp_path: Path) -> Path:
    folder = tmp_path / "dataset"
    (folder / "speaker1").mkdir(parents=True)
    signals.write(folder / "one.wav", signals.chirp(100, 4000, 16_000, 1.0), 16_000, subtype="FLOAT")
    signals.write(folder / "speaker1" / "two.wav", signals.sine(440, 16_000, 0.8), 16_000, subtype="FLOAT")
    return folder


def test_a_recipe_downloaded_from_the_features_tab_runs_unchanged_on_the_command_line_and_in_the_batch_tab(
    page, tmp_path
):
    page.get_by_role("tab", name="Features").click()
    page.locator("#features-name").get_by_text("MFCC (T.MFCC)").click()
    page.locator("#features-n_mfcc input").fill("13")
    page.locator("#features-recipe-button").click()
    link = page.locator("#features-recipe a").first
    expect(link).to_have_attribute("href", re.compile(r"recipe_mfcc\.json$"), timeout=30_000)
    with page.expect_download() as download:
        link.click()
    recipe_path = tmp_path / "recipe.json"
    download.value.save_as(recipe_path)
    recipe = json.loads(recipe_path.read_text(encoding="utf-8"))
    assert recipe["version"] == 1 and recipe["feature"] == "mfcc" and recipe["params"]["n_mfcc"] == 13

    folder = folder_of_clips(tmp_path)
    command = [sys.executable, "-m", "audiolab.batch", "--recipe", str(recipe_path), "--input", str(folder),
               "--output", str(tmp_path / "out"), "--workers", "2"]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    p = recipe["params"]
    mfcc = T.MFCC(
        16_000, n_mfcc=13, melkwargs={"n_fft": p["n_fft"], "hop_length": p["hop_length"], "n_mels": p["n_mels"]}
    )
    for rel in ("one.wav", "speaker1/two.wav"):
        x, _ = sf.read(folder / rel, dtype="float32", always_2d=True)
        ref = mfcc(torch.from_numpy(x.T.copy())).numpy()
        got = np.load(tmp_path / "out" / rel.replace(".wav", ".npy"))
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())

    with zipfile.ZipFile(tmp_path / "clips.zip", "w") as z:
        for path in sorted(folder.rglob("*.wav")):
            z.write(path, path.relative_to(folder).as_posix())
        z.writestr("broken.wav", b"RIFF not audio")
    page.get_by_role("tab", name="Batch").click()
    with page.expect_file_chooser() as chooser:
        page.locator("#batch-load").click()
    chooser.value.set_files(str(recipe_path))
    expect(page.locator("#batch-recipe")).to_contain_text('"n_mfcc": 13', timeout=30_000)
    page.locator("#batch-zip input[type=file]").set_input_files(str(tmp_path / "clips.zip"))
    expect(page.locator("#batch-zip")).to_contain_text("clips.zip", timeout=30_000)
    page.locator("#batch-run").click()
    expect(page.locator("#batch-summary")).to_contain_text("3 file(s): 2 ok, 1 failed", timeout=60_000)
    expect(page.locator("#batch-manifest")).to_contain_text("speaker1/two.wav")
    expect(page.locator("#batch-results a").first).to_be_attached()
    expect(page.locator("#batch-command")).to_contain_text("--engine ray")
    page.screenshot(path="/tmp/batch.png", full_page=True)
