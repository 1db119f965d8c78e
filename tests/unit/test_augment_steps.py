"""One step of an augmentation chain against the audio before it: the same samples as the chain."""

from __future__ import annotations

import pytest
import torch

from audiolab.augment import compute as augment
from audiolab.core.errors import AudioLabError
from tests import signals

CHAIN = [{"op": "gain", "gain_db": 6.0}, {"op": "add_noise", "snr_db": 10.0}, {"op": "speed", "factor": 1.25}]


@pytest.fixture
def clip():
    return torch.as_tensor(signals.sine(440, 16_000, 1.0, amp=0.25)).reshape(1, -1).float()


def test_each_step_takes_the_previous_steps_output_and_gives_the_chains_own_samples(clip):
    whole = augment.run_chain(clip, 16_000, CHAIN, seed=7)
    for step in (1, 2, 3):
        (a, rate_a), (b, rate_b) = augment.step_io(clip, 16_000, CHAIN, step, seed=7)
        prefix = augment.run_chain(clip, 16_000, CHAIN[:step], seed=7)
        assert torch.equal(b, prefix.waveform) and rate_b == prefix.sample_rate
        if step == 1:
            assert torch.equal(a, clip) and rate_a == 16_000
        else:
            assert torch.equal(a, augment.run_chain(clip, 16_000, CHAIN[: step - 1], seed=7).waveform)
    assert torch.equal(b, whole.waveform) and rate_b == whole.sample_rate
    (a, _), (b, _) = augment.step_io(clip, 16_000, CHAIN, 1, seed=7)
    assert torch.allclose(b, a * 10 ** (6 / 20), atol=1e-6)  # step 1 is a 6 dB gain, by the formula


def test_a_step_outside_the_chain_is_refused_by_name(clip):
    with pytest.raises(AudioLabError, match="step"):
        augment.step_io(clip, 16_000, CHAIN, 4, seed=0)
