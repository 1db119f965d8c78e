"""Batch runs (audiolab.batch): recipes, inputs, the local engine and the command, against torchaudio."""

from __future__ import annotations

import json
import multiprocessing
import os

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.transforms as T

from audiolab.batch import __main__ as cli
from audiolab.batch import engine, inputs, recipes, tasks
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

MFCC = {"version": 1, "feature": "mfcc", "params": {"n_fft": 512, "n_mels": 40, "n_mfcc": 13}}
STRETCH = {"version": 1, "chain": [{"op": "time_stretch", "rate": 1.25, "n_fft": 512}], "seed": 0}


@pytest.fixture
def clips(tmp_path):
    """A folder of three good clips (one stereo 44.1 kHz, one in a subfolder) and their waveforms."""
    folder = tmp_path / "clips"
    (folder / "sub").mkdir(parents=True)
    waves = {
        "a.wav": (signals.sine(440, 16_000, 1.0), 16_000),
        "sub/b.flac": (signals.chirp(100, 6000, 16_000, 1.5), 16_000),
        "c.wav": (torch.cat([signals.sine(300, 44_100, 1.0), signals.sine(700, 44_100, 1.0)]), 44_100),
    }
    for rel, (x, rate) in waves.items():
        signals.write(folder / rel, x, rate, subtype="FLOAT" if rel.endswith(".wav") else "PCM_16")
    return folder, {rel: sf.read(folder / rel, dtype="float32", always_2d=True) for rel in waves}


def bad_files(folder):
    """A corrupt file, an empty one and one over the upload limit (25 MB of silence)."""
    (folder / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " + os.urandom(200))
    (folder / "empty.wav").write_bytes(b"")
    frames = limits.MAX_FILE_BYTES // 2 + 16_000
    sf.write(folder / "huge.wav", np.zeros(frames, dtype=np.int16), 16_000, subtype="PCM_16")


def run(recipe: dict, source, out, **kw) -> engine.Summary:
    parsed = recipes.parse_recipe(recipe)
    return engine.run_batch(parsed, inputs.list_inputs(source, out), out, **kw)


def manifest(out) -> dict[str, dict]:
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return {r["path"]: r for r in map(json.loads, lines)}


def direct_mfcc(x: np.ndarray, rate: int) -> torch.Tensor:
    """torchaudio's T.MFCC with the recipe's settings, channel by channel (its dB floor per channel),
    ``(channel, n_mfcc, time)``."""
    mfcc = T.MFCC(rate, n_mfcc=13, melkwargs={"n_fft": 512, "hop_length": 256, "n_mels": 40})
    return mfcc(torch.from_numpy(x.T.copy()).unsqueeze(1)).squeeze(1)


def close(got: np.ndarray, ref: torch.Tensor) -> None:
    ref = ref.numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max())


# --- recipes ---------------------------------------------------------------------------------------


def test_a_feature_recipe_is_resolved_with_the_endpoints_checks_and_bad_ones_say_why():
    parsed = recipes.parse_recipe(json.dumps(MFCC))
    assert parsed["params"]["n_mfcc"] == 13 and parsed["params"]["hop_length"] == 256
    assert parsed["params"]["win_length"] == 512 and parsed["params"]["mel_scale"] == "htk"
    assert recipes.parse_recipe(parsed) == parsed  # a resolved recipe is a fixed point
    bad = [
        ({**MFCC, "version": 2}, "version"),
        ({**MFCC, "chain": []}, "exactly one"),
        ({**MFCC, "colour": "red"}, "Unknown recipe key"),
        ({**MFCC, "params": {"n_fft": 3}}, "n_fft=3 is out of range"),
        ({**MFCC, "params": {"n_ffts": 512}}, "Unknown parameter"),
        ({"version": 1, "feature": "mfc"}, "Invalid feature"),
        ('{"version": 1, ', "not valid JSON"),
        ([1], "JSON object"),
    ]
    for recipe, words in bad:
        with pytest.raises(AudioLabError, match=words) as err:
            recipes.parse_recipe(recipe if isinstance(recipe, (str, dict)) else json.dumps(recipe))
        if "Invalid feature" not in words and "n_fft" not in words and "Unknown parameter" not in words:
            assert err.value.zh, f"no Chinese message for {words}"


def test_chain_and_wav2vec2_recipes_are_checked_and_uploaded_clips_refused():
    parsed = recipes.parse_recipe(STRETCH)
    assert parsed["chain"][0]["hop_length"] == 128 and parsed["inversion"] == "phase" and parsed["seed"] == 0
    with pytest.raises(AudioLabError, match="uploaded clip") as err:
        recipes.parse_recipe({"version": 1, "chain": [{"op": "add_noise", "noise": "clip"}]})
    assert err.value.zh
    with pytest.raises(AudioLabError, match="rate"):
        recipes.parse_recipe({"version": 1, "chain": [{"op": "time_stretch", "rate": 9}]})
    w2v = recipes.parse_recipe({"version": 1, "wav2vec2": "layer_features", "model": limits.W2V_DEFAULT_MODEL})
    assert w2v == {"version": 1, "wav2vec2": "layer_features", "model": limits.W2V_DEFAULT_MODEL,
                   "chunk_s": limits.W2V_CHUNK_S, "context_s": limits.W2V_CONTEXT_S, "layer": 1}  # fmt: skip
    with pytest.raises(AudioLabError, match="Unknown model"):
        recipes.parse_recipe({"version": 1, "wav2vec2": "emissions", "model": "nope"})
    with pytest.raises(AudioLabError, match="chunk length"):
        recipes.parse_recipe({"version": 1, "wav2vec2": "emissions", "chunk_s": 0.1})


# --- inputs ----------------------------------------------------------------------------------------


def test_a_folder_is_searched_recursively_by_extension_without_the_output_folder(clips, tmp_path):
    folder, _ = clips
    (folder / "notes.txt").write_text("not audio")
    (folder / "out").mkdir()
    signals.write(folder / "out" / "old.wav", signals.sine(), 16_000)
    found = inputs.list_inputs(folder, folder / "out")
    assert [rel for _, rel in found] == ["a.wav", "c.wav", "sub/b.flac"]
    with pytest.raises(AudioLabError, match="No audio files") as err:
        inputs.list_inputs(tmp_path / "clips" / "sub" / "..", tmp_path / "clips")
    assert err.value.zh


def test_csv_and_jsonl_manifests_list_paths_relative_to_their_folder_and_never_escape(clips, tmp_path):
    folder, _ = clips
    (folder / "list.csv").write_text("label,path\nx,a.wav\ny,sub/b.flac\n")
    assert [rel for _, rel in inputs.list_inputs(folder / "list.csv")] == ["a.wav", "sub/b.flac"]
    outside = signals.write(tmp_path / "outside.wav", signals.sine(), 16_000)
    lines = ['{"path": "c.wav"}', '"../outside.wav"', json.dumps({"path": str(outside)}), ""]
    (folder / "list.jsonl").write_text("\n".join(lines))
    found = inputs.list_inputs(folder / "list.jsonl")
    assert found[0] == (str((folder / "c.wav").resolve()), "c.wav")
    assert found[1][1] == found[2][1] == str(outside.resolve()).lstrip("/")  # under the output folder, not above
    (folder / "bad.jsonl").write_text('{"file": "a.wav"}\n{"nope": 1}\n')
    with pytest.raises(AudioLabError, match="line 2 has no path"):
        inputs.list_inputs(folder / "bad.jsonl")


# --- the local engine ------------------------------------------------------------------------------


def test_mfcc_over_a_folder_equals_torchaudio_and_bad_files_are_recorded_while_the_rest_succeed(clips, tmp_path):
    folder, waves = clips
    bad_files(folder)
    out = tmp_path / "out"
    summary = run(MFCC, folder, out, workers=2)
    assert (summary.total, summary.ok, summary.failed, summary.exit_status) == (6, 3, 3, 1)
    records = manifest(out)
    assert list(records) == ["a.wav", "c.wav", "corrupt.wav", "empty.wav", "huge.wav", "sub/b.flac"]
    for rel, (x, rate) in waves.items():
        got = np.load(out / records[rel]["output"])
        close(got, direct_mfcc(x, rate))
        assert records[rel]["status"] == "ok" and records[rel]["shape"] == list(got.shape)
        assert records[rel]["sample_rate"] == rate and records[rel]["seconds"] == pytest.approx(len(x) / rate)
    assert "corrupt" in records["corrupt.wav"]["message"] and "empty" in records["empty.wav"]["message"]
    assert "the limit is 25 MB" in records["huge.wav"]["message"]
    assert not any((out / records[r]["output"]).exists() for r in ("corrupt.wav", "empty.wav", "huge.wav"))


def test_an_augment_chain_writes_the_float_wav_torchaudio_gives(clips, tmp_path):
    folder, waves = clips
    out = tmp_path / "out"
    assert run(STRETCH, folder, out, workers=2).exit_status == 0
    spec, stretch, inverse = (
        T.Spectrogram(512, hop_length=128, power=None),
        T.TimeStretch(128, 257),
        T.InverseSpectrogram(512, hop_length=128),
    )
    for rel, (x, rate) in waves.items():
        got, got_rate = sf.read(out / tasks.output_name(rel, recipes.parse_recipe(STRETCH)), dtype="float32")
        expected = inverse(stretch(spec(torch.from_numpy(x.T.copy())), 1.25), length=round(len(x) / 1.25))
        expected = expected / max(1.0, float(expected.abs().max()))  # every step's result is scaled to peak <= 1
        assert got_rate == rate
        close(got.reshape(len(got), -1).T, expected)


def test_a_rerun_skips_what_is_done_and_retries_what_failed_or_is_missing(clips, tmp_path):
    folder, _ = clips
    (folder / "empty.wav").write_bytes(b"")
    out = tmp_path / "out"
    assert run(MFCC, folder, out, workers=1).exit_status == 1
    stamp = (out / "a.npy").stat().st_mtime_ns
    (out / "c.npy").unlink()
    starts = []
    summary = run(MFCC, folder, out, workers=1, on_start=lambda todo, done: starts.append((todo, done)))
    assert starts == [(2, 2)]  # c.wav (output gone) and empty.wav (failed) run again
    assert (out / "a.npy").stat().st_mtime_ns == stamp and (out / "c.npy").is_file()
    assert (summary.ok, summary.failed, summary.skipped) == (3, 1, 2)
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 4  # one line per input
    (folder / "empty.wav").unlink()
    assert run(MFCC, folder, out, workers=1).exit_status == 0
    with pytest.raises(AudioLabError, match="another recipe") as err:
        run(STRETCH, folder, out)
    assert err.value.zh


def test_two_inputs_with_one_output_name_do_not_overwrite_each_other(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    signals.write(folder / "x.wav", signals.sine(440), 16_000)
    signals.write(folder / "x.flac", signals.sine(880), 16_000)
    records = (run(MFCC, folder, tmp_path / "out", workers=1), manifest(tmp_path / "out"))[1]
    assert records["x.flac"]["status"] == "ok" and "is the output of x.flac" in records["x.wav"]["message"]


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the patch reaches forked workers")
def test_a_file_that_kills_its_worker_is_recorded_and_the_others_still_run(clips, tmp_path, monkeypatch):
    # Forked workers see the patched task; earlier tests may have left threads that would make the
    # engine choose spawn, so the start method is fixed here.
    monkeypatch.setattr(engine, "_context", lambda: multiprocessing.get_context("fork"))
    folder, waves = clips
    signals.write(folder / "killer.wav", signals.sine(), 16_000)
    compute = tasks.COMPUTE["feature"]

    def dies_on_the_killer(recipe, path):
        if path.endswith("killer.wav"):
            os._exit(3)  # as the kernel's out-of-memory killer would end it
        return compute(recipe, path)

    monkeypatch.setitem(tasks.COMPUTE, "feature", dies_on_the_killer)
    summary = run(MFCC, folder, tmp_path / "out", workers=2)
    records = manifest(tmp_path / "out")
    assert (summary.ok, summary.failed) == (3, 1) and records["killer.wav"]["message"] == engine.DIED
    close(np.load(tmp_path / "out" / "c.npy"), direct_mfcc(*waves["c.wav"]))


# --- wav2vec2 and the command ----------------------------------------------------------------------


def test_wav2vec2_emissions_of_each_file_equal_the_model_run_directly(tmp_path, monkeypatch):
    monkeypatch.setenv("AUDIOLAB_MODEL_DIR", str(tmp_path / "models"))
    model = tiny.hf_model(5)
    tiny.write_hf_folder(tmp_path / "models" / "tiny", model, normalize=False)
    folder = tmp_path / "in"
    folder.mkdir()
    x = {"s.wav": signals.chirp(200, 3000, 16_000, 1.2), "n.wav": signals.white_noise(16_000, 0.8)}
    for rel, wave in x.items():
        signals.write(folder / rel, wave, 16_000, subtype="FLOAT")
    recipe = {"version": 1, "wav2vec2": "emissions", "model": "local:tiny", "chunk_s": 20, "context_s": 2}
    assert run(recipe, folder, tmp_path / "out", workers=2).exit_status == 0
    for rel, wave in x.items():
        got = np.load(tmp_path / "out" / rel.replace(".wav", ".npy"))
        close(got, tiny.reference_log_probs(model, wave))


def test_the_command_exits_0_1_or_2_and_prints_a_summary(clips, tmp_path, capsys):
    folder, _ = clips
    (tmp_path / "r.json").write_text(json.dumps(MFCC))
    args = ["--recipe", str(tmp_path / "r.json"), "--input", str(folder), "--output", str(tmp_path / "o"), "--quiet"]
    assert cli.main([*args, "--workers", "1"]) == 0
    assert "3 file(s): 3 ok" in capsys.readouterr().out
    (folder / "empty.wav").write_bytes(b"")
    assert cli.main(args) == 1
    assert "1 failed" in capsys.readouterr().out
    (tmp_path / "r.json").write_text('{"version": 1, "feature": "mfcc", "params": {"n_fft": -1}}')
    assert cli.main(args) == 2
    assert "error: n_fft=-1 is out of range" in capsys.readouterr().err


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the patch reaches forked workers")
def test_a_worker_killed_in_a_chunk_of_files_loses_only_the_killer(tmp_path, monkeypatch):
    monkeypatch.setattr(engine, "_context", lambda: multiprocessing.get_context("fork"))
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(23):
        signals.write(folder / f"c{i:02d}.wav", signals.sine(200 + 40 * i, 16_000, 0.3), 16_000)
    signals.write(folder / "c11_killer.wav", signals.sine(), 16_000)
    assert engine.chunk_size(24, 2) == 3  # the killer shares its task with other files
    compute = tasks.COMPUTE["feature"]

    def dies_on_the_killer(recipe, path):
        if path.endswith("killer.wav"):
            os._exit(3)
        return compute(recipe, path)

    monkeypatch.setitem(tasks.COMPUTE, "feature", dies_on_the_killer)
    summary = run(MFCC, folder, tmp_path / "out", workers=2)
    records = manifest(tmp_path / "out")
    assert (summary.ok, summary.failed) == (23, 1) and records["c11_killer.wav"]["message"] == engine.DIED
    assert sorted(p.name for p in (tmp_path / "out").glob("*.npy")) == [f"c{i:02d}.npy" for i in range(23)]
