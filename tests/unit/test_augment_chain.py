"""Augment chains: validation, seeds, size bounds before work, bounded memory at the extremes."""

from __future__ import annotations

import json

import pytest
import torch

from audiolab.augment import compute as A
from audiolab.core import limits
from audiolab.core.deadline import Deadline
from audiolab.core.errors import AudioLabError
from components import augment_tab
from tests import signals
from tests.fixtures import memory

SR = 16_000
RANDOM_CHAIN = [
    {"op": "time_masking", "time_mask_param": 30},
    {"op": "frequency_masking", "freq_mask_param": 20, "iid_masks": True},
    {"op": "speed_perturbation", "factors": [0.9, 1.1]},
    {"op": "add_noise", "snr_db": 20, "noise": "pink"},
    {"op": "reverb", "rt60": 0.2},
]


def clip(seconds: float = 1.0, rate: int = SR) -> torch.Tensor:
    return torch.cat([signals.chirp(100, rate / 4, rate, seconds), signals.sine(330, rate, seconds, amp=0.3)])


def test_the_same_seed_gives_the_same_output_and_another_seed_another(device):
    x = clip()
    a = A.run_chain(x, SR, RANDOM_CHAIN, seed=5)
    assert torch.equal(a.waveform, A.run_chain(x, SR, json.dumps(RANDOM_CHAIN), seed=5).waveform)
    assert not torch.equal(a.waveform[:, :8000], A.run_chain(x, SR, RANDOM_CHAIN, seed=6).waveform[:, :8000])
    assert [s.params["seed"] for s in a.steps] == [5, 6, 7, 8, 9]


def test_a_random_step_uses_the_chain_seed_plus_its_index_unless_it_names_a_seed():
    x = clip()
    two = A.run_chain(x, SR, [{"op": "gain", "gain_db": 0}, {"op": "add_noise"}], seed=40)
    one = A.run_chain(x, SR, [{"op": "add_noise", "seed": 41}], seed=0)
    assert torch.equal(two.waveform, one.waveform)
    assert two.steps[1].params["seed"] == 41 and two.steps[0].params.get("seed") is None


def test_steps_report_what_each_did():
    r = A.run_chain(clip(), SR, [{"op": "time_stretch", "rate": 2.0}, {"op": "resample", "sample_rate": 8000}])
    rows = [s.row() for s in r.steps]
    assert rows[0][:2] == [1, "time_stretch"] and rows[0][4] == 0.5 and rows[0][5] == SR
    assert rows[1][1] == "resample" and rows[1][4] == 0.5 and rows[1][5] == 8000
    assert json.loads(rows[0][2]) == {"rate": 2.0, "n_fft": 512, "hop_length": 128}
    assert r.waveform.shape == (2, 4000) and r.sample_rate == 8000


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"op": "time_stretch", "rate": 0.01}, r"time_stretch.rate=0.01 is out of range: allowed 0.5 to 2"),
        ({"op": "time_stretch", "rate": 5}, r"time_stretch.rate=5 is out of range"),
        ({"op": "echo"}, r"unknown op 'echo'. Please choose one of: time_stretch, "),
        ({"op": "time_stretch", "rte": 1.2}, r"unknown parameter\(s\) rte; valid: rate, n_fft, hop_length"),
        ({"op": "time_stretch", "n_fft": 500}, r"Invalid time_stretch.n_fft: 500. Please choose one of: 256, 512"),
        ({"op": "time_masking", "n_fft": 2048, "hop_length": 64}, r"time_masking.hop_length=64 is out of range"),
        ({"op": "pitch_shift", "n_steps": 13}, r"pitch_shift.n_steps=13 is out of range: allowed -12 to 12"),
        ({"op": "pitch_shift", "n_steps": 12, "bins_per_octave": 6}, r"= 2 octaves; at most 1 octave"),
        ({"op": "add_noise", "noise": "violet"}, r"Invalid add_noise.noise: 'violet'"),
        ({"op": "speed_perturbation", "factors": []}, r"factors must be a list of 1 to 8 numbers"),
        ({"op": "speed_perturbation", "factors": [0.9, 3.0]}, r"speed_perturbation.factors=3 is out of range"),
        ({"op": "gain", "gain_db": float("nan")}, r"gain.gain_db must be a finite number"),
        ({"op": "fade", "fade_shape": "cubic"}, r"Invalid fade.fade_shape: 'cubic'"),
        ({"op": "reverb", "seed": -1}, r"reverb.seed=-1 is out of range"),
        ("time_stretch", r"Step 1 must be an object like"),
    ],
)
def test_bad_steps_are_refused_with_a_message_repeating_the_value(step, message):
    with pytest.raises(AudioLabError, match=message):
        A.run_chain(clip(0.1), SR, [step])


@pytest.mark.parametrize(
    ("chain", "message"),
    [
        ("[{", r"The chain is not valid JSON"),
        ("[]", r"The chain is empty"),
        ([{"op": "gain"}] * (limits.AUG_MAX_STEPS + 1), r"The chain has 13 steps; at most 12"),
        ("x" * (limits.AUG_MAX_CHAIN_CHARS + 1), r"characters long"),
    ],
)
def test_bad_chains_are_refused(chain, message):
    with pytest.raises(AudioLabError, match=message):
        A.run_chain(clip(0.1), SR, chain)


def test_seed_and_inversion_are_checked():
    with pytest.raises(AudioLabError, match=r"seed=-3 is out of range"):
        A.run_chain(clip(0.1), SR, [{"op": "gain"}], seed=-3)
    with pytest.raises(AudioLabError, match=r"Invalid inversion: 'istft'"):
        A.run_chain(clip(0.1), SR, [{"op": "gain"}], inversion="istft")


def test_clip_ops_need_their_clip():
    with pytest.raises(AudioLabError, match="needs a noise clip"):
        A.run_chain(clip(0.1), SR, [{"op": "add_noise", "noise": "clip"}])
    with pytest.raises(AudioLabError, match="needs an impulse response clip"):
        A.run_chain(clip(0.1), SR, [{"op": "reverb", "rir": "clip"}])


def test_every_default_step_validates_and_the_schema_lists_every_op_and_parameter():
    schema = A.json_schema()
    variants = {v["title"]: v for v in schema["items"]["oneOf"]}
    assert set(variants) == set(A.OPS)
    for name, op in A.OPS.items():
        assert A.check_step({"op": name})["op"] == name
        assert set(variants[name]["properties"]) == {"op", *(p.name for p in op.params)} | (
            {"seed"} if op.random else set()
        )
    assert variants["time_stretch"]["properties"]["rate"] == {
        "default": 1.25, "description": "speed-up (>1 shorter)", "type": "number", "minimum": 0.5, "maximum": 2.0,
    }  # fmt: skip
    assert json.loads(json.dumps(schema)) == schema


@pytest.mark.parametrize("name", list(A.OPS))
def test_the_predicted_length_and_rate_of_each_op_bound_the_real_ones(name):
    x = clip(0.5)
    p = A.check_step({"op": name, **({"noise": "white"} if name == "add_noise" else {})})
    r = A.run_chain(x, SR, [p], seed=1)
    frames, rate, _ = A.predict(p, 2, x.shape[-1], SR)
    assert rate == r.sample_rate
    exact = name not in ("reverb", "speed_perturbation")
    assert (frames == r.waveform.shape[-1]) if exact else (frames >= r.waveform.shape[-1])


def test_presets_are_valid_chains():
    for chain in A.PRESETS.values():
        assert A.parse_chain(A.chain_text(chain)) == [A.check_step(s) for s in chain]


# --- bounded size, time and memory ------------------------------------------------------------------


def test_steps_that_would_grow_the_audio_too_much_are_refused_before_any_work():
    x = torch.zeros(2, 30 * 48_000)
    chain = [{"op": "speed", "factor": 0.5}, {"op": "time_stretch", "rate": 0.5}]
    with pytest.raises(AudioLabError, match=r"Step 2 \(time_stretch\) would make 120.0 s x 2 channel\(s\)"):
        A.run_chain(x, 48_000, chain)
    many = [{"op": "speed", "factor": 0.5}] * 6
    with pytest.raises(AudioLabError, match=r"Step 3 \(speed\) would make"):
        A.run_chain(torch.zeros(1, 48_000 * 10), 48_000, many)


def test_an_stft_too_big_for_memory_is_refused_with_a_way_out():
    x = torch.zeros(1, 30 * 48_000)
    step = {"op": "time_stretch", "rate": 0.5, "n_fft": 2048, "hop_length": 256}
    with pytest.raises(AudioLabError, match=r"values per channel \(limit 6,000,000\): use a larger hop_length"):
        A.run_chain(x, 48_000, [step])


def test_the_most_memory_hungry_allowed_settings_stay_under_a_gigabyte():
    x = signals.white_noise(48_000, limits.AUG_MAX_DURATION_S, amp=0.1)  # the longest input, at 48 kHz
    chain = [
        {"op": "time_stretch", "rate": 0.5, "n_fft": 256, "hop_length": 64},  # 5.8 M STFT values, the limit
        {"op": "pitch_shift", "n_steps": -0.01},  # 1477/1476: the biggest resampling kernel
    ]
    assert A.predict(A.check_step(chain[0]), 1, x.shape[-1], 48_000)[2] <= limits.AUG_MAX_STFT_VALUES
    with memory.Peak() as peak:
        A.run_chain(x, 48_000, chain, deadline=Deadline(120))
    assert peak.megabytes < 1024


def test_a_spent_deadline_stops_the_chain():
    with pytest.raises(AudioLabError, match="took longer than the 0 s limit"):
        A.run_chain(clip(), SR, [{"op": "gain"}], deadline=Deadline(0))


def test_long_input_is_cut_to_the_tabs_limit_with_a_note():
    notes: list[str] = []
    x = torch.zeros(4, 40 * 8000)
    y = A.limit_input(x, 8000, notes)
    assert y.shape == (4, int(limits.AUG_MAX_DURATION_S * 8000)) and "first 30.0 s" in notes[0]
    wide = A.limit_input(torch.zeros(32, 8000 * 20), 8000, notes)
    assert wide.shape[-1] == limits.AUG_MAX_INPUT_SAMPLES // 32


# --- the tab's chain builder ------------------------------------------------------------------------


def test_adding_steps_validates_them_and_writes_one_per_line():
    text = augment_tab.add_step.__wrapped__("time_stretch", "[]", 1.5, 1024, None)
    text = augment_tab.add_step.__wrapped__("add_noise", text, 5.0, "brown", 7)
    assert text.count("\n") == 3
    assert json.loads(text) == [
        {"op": "time_stretch", "rate": 1.5, "n_fft": 1024, "hop_length": 256},
        {"op": "add_noise", "snr_db": 5.0, "noise": "brown", "seed": 7},
    ]
    with pytest.raises(AudioLabError, match="time_stretch.rate=3 is out of range"):
        augment_tab.add_step.__wrapped__("time_stretch", "[]", 3, 512, None)
    assert json.loads(augment_tab.remove_last.__wrapped__(text)) == json.loads(text)[:1]
    sp = augment_tab.add_step.__wrapped__("speed_perturbation", "[]", "0.9, 1.0; 1.2", None)
    assert json.loads(sp)[0]["factors"] == [0.9, 1.0, 1.2]


def test_the_preview_shows_the_steps_or_the_error():
    shown = augment_tab.preview(A.chain_text(A.PRESETS["Faster and higher"]))
    assert shown["headers"][:3] == ["#", "op", "params"]
    assert [r[1] for r in shown["data"]] == ["time_stretch", "pitch_shift"]
    assert augment_tab.preview('[{"op": "time_stretch", "rate": 9}]')["data"][0][2].startswith("Step 1")
    assert augment_tab.preview("[")["data"][0][0] == "!" and augment_tab.preview("[]")["data"] == []


def _extremes():
    """Every numeric parameter of every op at both ends of its range (frequencies: up to Nyquist)."""
    for name, op in A.OPS.items():
        for p in op.params:
            if p.kind in ("number", "integer") and p.default is not None:
                for value in (p.lo, min(p.hi, SR / 2 - 1) if "freq" in p.name else p.hi):
                    step = {"op": name, p.name: value, **({"n_steps": -1} if p.name == "bins_per_octave" else {})}
                    yield pytest.param(step, id=f"{name}-{p.name}={value:g}")
    yield pytest.param({"op": "time_stretch", "n_fft": 2048, "hop_length": 256, "rate": 0.5}, id="stretch-2048/256")
    yield pytest.param({"op": "speed_perturbation", "factors": [0.5, 2.0]}, id="perturbation-extremes")


@pytest.mark.parametrize("step", _extremes())
def test_every_parameter_at_the_ends_of_its_range_gives_finite_audio_within_one(step):
    r = A.run_chain(clip(1.0), SR, [step], seed=2)
    assert torch.isfinite(r.waveform).all() and float(r.waveform.abs().max()) <= 1.0
    assert r.waveform.shape[-1] > 0


def test_stft_steps_refuse_audio_shorter_than_half_the_fft():
    with pytest.raises(AudioLabError, match=r"the audio has 100 samples, too short for n_fft=512"):
        A.run_chain(torch.zeros(1, 100), SR, [{"op": "pitch_shift"}])
