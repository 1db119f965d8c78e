"""Train engine: frozen backbones, gradients only in the head, seeded training on separable sounds."""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torchaudio.transforms as T
from torch import nn

from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from audiolab.train import compute as train
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

SR = limits.TRAIN_SAMPLE_RATE


def tones_and_noise(per_label: int = 10, seed: int = 0) -> train.ClipSet:
    """Sines near 220 Hz, sines near 1760 Hz and white noise (tests/signals), jittered by ``seed``."""
    g = torch.Generator().manual_seed(seed)
    clips, labels = [], []
    for i in range(per_label):
        jitter, amp = 1 + 0.1 * float(torch.rand((), generator=g)), 0.1 + 0.6 * float(torch.rand((), generator=g))
        low, high = signals.sine(220 * jitter, SR, 0.5, amp=amp), signals.sine(1760 * jitter, SR, 0.5, amp=amp)
        clips += [(low, SR), (high, SR), (signals.white_noise(SR, 0.5, amp=amp, seed=seed * 1000 + i), SR)]
        labels += ["low", "high", "noise"]
    return train.clip_set(clips, labels)


@pytest.fixture(scope="module")
def w2v_backbone():
    """A tiny randomly initialised ``torchaudio.models.wav2vec2_model`` (2 layers, 32 dims), frozen."""
    model = tiny.build(3, num_out=None)
    return train.wav2vec2_backbone(model, layer=2, name="tiny")


# --- gradients flow only into the head ----------------------------------------------------------


def test_a_frozen_wav2vec2_backbone_gets_no_grad_while_the_head_does(w2v_backbone):
    clips = tones_and_noise(per_label=2)
    assert all(not p.requires_grad for p in w2v_backbone.parameters())
    head = train.new_head(torch.randn(6, 32), 3, generator=torch.Generator().manual_seed(0))
    loss = nn.functional.cross_entropy(head(w2v_backbone(clips.waveforms[0])), torch.tensor([0]))
    loss.backward()  # through the backbone: nothing there requires a gradient
    assert all(p.grad is None for p in w2v_backbone.parameters())
    assert head.fc.weight.grad is not None and head.fc.weight.grad.abs().sum() > 0
    assert head.fc.bias.grad is not None and head.mean.grad is None  # buffers are not trained

    unfrozen = copy.deepcopy(w2v_backbone)  # the control: without freezing, gradients do reach it
    for p in unfrozen.parameters():
        p.requires_grad_(True)
    nn.functional.cross_entropy(head(unfrozen(clips.waveforms[0])), torch.tensor([0])).backward()
    assert sum(p.grad is not None for p in unfrozen.parameters()) > 10
    assert train.parameters_with_grad(w2v_backbone) == [] and len(train.parameters_with_grad(unfrozen)) > 10


def test_training_changes_only_the_head_and_leaves_the_backbone_weights_identical(w2v_backbone):
    before = {k: v.clone() for k, v in w2v_backbone.state_dict().items()}
    prepared = train.prepare(tones_and_noise(per_label=3), w2v_backbone, train.TrainConfig(epochs=5))
    assert prepared.frozen_parameters == sum(p.numel() for p in w2v_backbone.parameters()) > 20_000
    assert prepared.trainable_parameters == (32 + 1) * 3
    g = torch.Generator().manual_seed(0)
    initial = train.new_head(prepared.features[prepared.train_idx], 3, generator=g).fc.weight.clone()
    result = train.train_head(prepared, train.TrainConfig(epochs=5))
    for key, value in w2v_backbone.state_dict().items():
        assert torch.equal(value, before[key]), key
    assert all(p.grad is None for p in w2v_backbone.parameters())
    assert (result.head.fc.weight - initial).abs().max() > 1e-3
    assert [name for name, p in result.head.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]


def test_features_come_from_inference_mode_but_are_normal_tensors_autograd_can_use(w2v_backbone):
    features = train.embed(w2v_backbone, tones_and_noise(per_label=2).waveforms, SR)
    assert not features.is_inference() and not features.requires_grad
    weight = torch.randn(32, 3, requires_grad=True)
    (features @ weight).square().sum().backward()  # would raise for an inference tensor
    assert weight.grad.shape == (32, 3)


# --- backbones against torchaudio directly -----------------------------------------------------------


def test_mfcc_features_are_torchaudios_mfcc_averaged_over_time(device):
    clips = tones_and_noise(per_label=2)
    backbone = train.mfcc_backbone(n_mfcc=20)
    assert train.count_parameters(backbone) == (0, 0)  # filterbank and DCT are buffers
    reference = T.MFCC(sample_rate=SR, n_mfcc=20, melkwargs={"n_fft": 400, "hop_length": 160, "n_mels": 64})
    expected = torch.cat([reference(w).mean(dim=-1) for w in clips.waveforms])
    torch.testing.assert_close(train.embed(backbone, clips.waveforms, SR), expected, atol=1e-3, rtol=1e-4)


def test_wav2vec2_features_are_the_layer_output_of_extract_features_averaged_over_frames():
    model = tiny.build(5, num_out=None, layers=2)
    clip = signals.chirp(200, 3000, SR, 0.6)
    with torch.no_grad():
        layers, _ = model.extract_features(clip)
    for layer in (1, 2):
        features = train.embed(train.wav2vec2_backbone(model, layer=layer, name="tiny"), [clip], SR)
        torch.testing.assert_close(features, layers[layer - 1].mean(dim=1), atol=1e-5, rtol=1e-5)
    with pytest.raises(AudioLabError, match="layer=3 is out of range: tiny has 2 transformer layers"):
        train.wav2vec2_backbone(model, layer=3, name="tiny")


def test_normalising_models_see_a_zero_mean_unit_variance_clip():
    model = tiny.build(5, num_out=None)
    clip = 0.3 * signals.sine(300, SR, 0.4) + 0.2
    backbone = train.wav2vec2_backbone(model, layer=1, normalize_eps=1e-5, name="tiny")
    normalised = (clip - clip.mean()) / torch.sqrt(clip.var(unbiased=False) + 1e-5)
    with torch.no_grad():
        expected = model.extract_features(normalised, num_layers=1)[0][0].mean(dim=1)
    torch.testing.assert_close(train.embed(backbone, [clip], SR), expected, atol=1e-4, rtol=1e-4)


# --- training on separable sounds ---------------------------------------------------------------------


def test_pitches_and_noise_are_learned_to_full_held_out_accuracy_with_mfcc(device):
    prepared = train.prepare(tones_and_noise(per_label=10), train.mfcc_backbone(), train.TrainConfig())
    result = train.train_head(prepared, train.TrainConfig(), device=device)
    assert result.done and result.device == device and len(result.loss) == 50
    assert result.test_accuracy[-1] == 1.0 and result.train_accuracy[-1] == 1.0
    assert result.loss[-1] < result.loss[0] / 10
    assert result.confusion.tolist() == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]  # round(0.25 x 10) held out per label


def test_the_builtin_set_is_learned_from_a_fixed_seed():
    clips = train.builtin_set(seed=0)
    assert clips.labels == list(train.BUILTIN_LABELS) and len(clips.waveforms) == 48
    prepared = train.prepare(clips, train.mfcc_backbone(), train.TrainConfig())
    result = train.train_head(prepared, train.TrainConfig())
    assert result.test_accuracy[-1] == 1.0
    trained = train.TrainedHead.of(result, prepared)
    for label in train.BUILTIN_LABELS:  # clips the head has never seen
        probs = train.classify(trained, train.builtin_clip(label, seed=7, index=500), SR)
        assert next(iter(probs)) == label and sum(probs.values()) == pytest.approx(1.0, abs=1e-6)


def test_the_same_seed_gives_the_same_loss_curve_and_another_seed_another():
    clips = tones_and_noise(per_label=6)
    backbone = train.mfcc_backbone()
    curves = []
    for seed in (3, 3, 4):
        config = train.TrainConfig(epochs=15, seed=seed)
        curves.append(train.train_head(train.prepare(clips, backbone, config), config).loss)
    assert curves[0] == curves[1]
    assert curves[0] != curves[2]


def test_the_head_is_the_seeds_nn_linear_with_its_default_initialisation():
    features = torch.randn(12, 7)
    head = train.new_head(features, 4, generator=torch.Generator().manual_seed(11))
    torch.manual_seed(11)
    reference = nn.Linear(7, 4)
    assert torch.equal(head.fc.weight, reference.weight) and torch.equal(head.fc.bias, reference.bias)
    standardised = (features - features.mean(0)) / features.std(0, unbiased=False)
    torch.testing.assert_close(head(features), reference(standardised), atol=1e-5, rtol=1e-5)


def test_one_epoch_is_the_sgd_loop_written_out_by_hand():
    prepared = train.prepare(tones_and_noise(per_label=4), train.mfcc_backbone(), train.TrainConfig())
    config = train.TrainConfig(epochs=1, lr=0.05, momentum=0.5, batch_size=3, seed=2)
    result = train.train_head(prepared, config)
    g = torch.Generator().manual_seed(2)
    head = train.new_head(prepared.features[prepared.train_idx], 3, generator=g)
    w, b, vw, vb = head.fc.weight.detach().clone(), head.fc.bias.detach().clone(), 0.0, 0.0
    x = (prepared.features - head.mean) / head.std
    order = prepared.train_idx[torch.randperm(len(prepared.train_idx), generator=g)]
    losses = []
    for batch in order.split(3):  # SGD with momentum (PyTorch's form: v = m v + g; p -= lr v)
        logits = x[batch] @ w.T + b
        p = torch.softmax(logits, dim=1)
        losses.append(-torch.log(p[torch.arange(len(batch)), prepared.targets[batch]]).mean() * len(batch))
        d = (p - nn.functional.one_hot(prepared.targets[batch], 3)) / len(batch)
        vw, vb = 0.5 * vw + d.T @ x[batch], 0.5 * vb + d.sum(0)
        w, b = w - 0.05 * vw, b - 0.05 * vb
    assert result.loss[0] == pytest.approx(float(sum(losses)) / len(order), rel=1e-5)
    torch.testing.assert_close(result.head.fc.weight, w, atol=1e-5, rtol=1e-5)


def test_training_past_the_time_limit_stops_with_a_note_and_keeps_the_head():
    prepared = train.prepare(tones_and_noise(per_label=3), train.mfcc_backbone(), train.TrainConfig())
    steps = list(train.fit(prepared, train.TrainConfig(epochs=200), max_seconds=0.0))
    result = steps[-1]
    assert result.done and len(result.loss) == 1 and "stopped after 1 of 200 epochs" in result.notes[0]
    assert result.head is not None and result.confusion.sum() == len(prepared.test_idx)


def test_fit_yields_after_every_epoch_then_once_done():
    prepared = train.prepare(tones_and_noise(per_label=3), train.mfcc_backbone(), train.TrainConfig())
    seen = [(len(r.loss), r.done) for r in train.fit(prepared, train.TrainConfig(epochs=4))]
    assert seen == [(1, False), (2, False), (3, False), (4, False), (4, True)]


# --- split, confusion matrix, head file ------------------------------------------------------------


def test_the_split_is_stratified_seeded_and_keeps_a_clip_on_each_side():
    targets = torch.tensor([0] * 8 + [1] * 2 + [2] * 5)
    train_idx, test_idx = train.split(targets, test_fraction=0.25, seed=1)
    assert sorted(train_idx.tolist() + test_idx.tolist()) == list(range(15))
    assert torch.bincount(targets[test_idx]).tolist() == [2, 1, 1]
    again = train.split(targets, test_fraction=0.25, seed=1)
    assert torch.equal(again[1], test_idx) and not torch.equal(train.split(targets, seed=2)[1], test_idx)


def test_the_confusion_matrix_counts_true_rows_against_predicted_columns():
    true, predicted = torch.tensor([0, 0, 1, 2, 2, 2]), torch.tensor([0, 1, 1, 2, 0, 2])
    assert train.confusion_matrix(predicted, true, 3).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_a_head_file_round_trips_and_loads_with_weights_only():
    prepared = train.prepare(tones_and_noise(per_label=3), train.mfcc_backbone(), train.TrainConfig())
    trained = train.TrainedHead.of(train.train_head(prepared, train.TrainConfig(epochs=3)), prepared)
    data = trained.to_bytes()
    raw = torch.load(io.BytesIO(data), weights_only=True)
    assert raw["labels"] == ["low", "high", "noise"] and raw["state_dict"]["fc.weight"].shape == (3, 13)
    again = train.TrainedHead.from_bytes(data)
    assert again.labels == trained.labels and again.backbone["n_mfcc"] == 13
    assert torch.equal(again.module().fc.weight, trained.state_dict["fc.weight"])


@pytest.mark.parametrize(
    "data",
    [b"not a torch file", b"\x80\x02K\x01.", "pickle"],
)
def test_files_that_are_not_heads_are_refused_with_one_clear_message(data):
    if data == "pickle":  # a pickle that would run code: weights_only refuses it
        buf = io.BytesIO()
        torch.save({"format": train.HEAD_FORMAT, "labels": ["a", "b"], "x": copy.copy}, buf)
        data = buf.getvalue()
    with pytest.raises(AudioLabError, match=r"not a head file saved by the Train tab"):
        train.TrainedHead.from_bytes(data)


def test_a_head_file_with_wrong_shapes_is_refused():
    buf = io.BytesIO()
    state = {"mean": torch.zeros(13), "std": torch.ones(13), "fc.weight": torch.zeros(3, 13), "fc.bias": torch.zeros(3)}
    torch.save({"format": train.HEAD_FORMAT, "labels": ["a", "b"], "backbone": {"kind": "mfcc", "n_mfcc": 13},
                "state_dict": state}, buf)  # fmt: skip
    with pytest.raises(AudioLabError, match="not a head file"):
        train.TrainedHead.from_bytes(buf.getvalue())


# --- bounds and clear messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["a", "a", "a"], r"1 label\(s\) \(a\); use 2 to 10 labels"),
        (["a", "a", "b"], r"at least 2 clips .* too few for: 'b' \(1\)"),
        ([str(i) for i in range(11) for _ in range(2)], "11 label"),
        (["a"] * 2 + ["x" * 41] * 2, "41 characters long"),
        (["a", " ", "b", "b"], "Every clip needs a label"),
    ],
)
def test_bad_label_sets_are_refused_before_any_work(labels, message):
    clips = [(signals.sine(440, SR, 0.2), SR)] * len(labels)
    with pytest.raises(AudioLabError, match=message):
        train.clip_set(clips, labels)


def test_a_clip_shorter_than_50_ms_and_a_label_count_mismatch_are_refused():
    with pytest.raises(AudioLabError, match="A clip is 30 ms long; clips need at least 50 ms"):
        train.clip_set([(signals.sine(440, SR, 0.03), SR)] * 2 + [(signals.sine(440, SR, 0.3), SR)] * 2,
                       ["a", "a", "b", "b"])  # fmt: skip
    with pytest.raises(AudioLabError, match="There are 3 clips but 4 labels"):
        train.clip_set([(signals.sine(440, SR, 0.3), SR)] * 3, ["a", "a", "b", "b"])


def test_long_stereo_clips_at_other_rates_are_mixed_cut_and_resampled():
    stereo = torch.cat([signals.sine(440, 44_100, 6.0), signals.sine(660, 44_100, 6.0)])
    clips = train.clip_set([(stereo, 44_100)] * 2 + [(signals.sine(300, SR, 0.5), SR)] * 2, ["a", "a", "b", "b"])
    assert clips.waveforms[0].shape == (1, int(limits.TRAIN_MAX_CLIP_S * SR))
    assert "2 clip(s) were cut to their first 5 s." in clips.notes


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (train.TrainConfig(epochs=0), r"epochs=0 is out of range"),
        (train.TrainConfig(lr=2.0), r"learning rate=2 is out of range"),
        (train.TrainConfig(momentum=1.0), r"momentum=1 is out of range"),
        (train.TrainConfig(batch_size=1.5), r"batch size must be a whole number"),
        (train.TrainConfig(test_fraction=0.9), r"test fraction=0.9 is out of range"),
    ],
)
def test_optimizer_settings_outside_the_limits_are_refused(config, message):
    with pytest.raises(AudioLabError, match=message):
        config.checked()


@pytest.mark.parametrize(
    ("text", "expected"),
    [('["yes", "no"]', ["yes", "no"]), ("yes, no\nup", ["yes", "no", "up"]), ("", []), (["a", " b "], ["a", "b"])],
)
def test_labels_are_read_from_json_or_plain_text(text, expected):
    assert train.parse_labels(text) == expected


def test_broken_json_labels_say_where():
    with pytest.raises(AudioLabError, match="not a valid JSON list"):
        train.parse_labels('["yes", "no"')


def test_builtin_clips_are_deterministic_and_in_range():
    a, b = train.builtin_clip("high tone", seed=1, index=2), train.builtin_clip("high tone", seed=1, index=2)
    assert torch.equal(a, b) and a.dtype == torch.float32 and a.abs().max() <= 0.8 + 1e-6
    assert not torch.equal(a, train.builtin_clip("high tone", seed=1, index=3))
    with pytest.raises(AudioLabError, match="Invalid built-in label: 'purr'"):
        train.builtin_clip("purr")


def test_more_than_300_s_of_audio_in_a_set_is_refused():
    five_seconds = (signals.sine(440, SR, 5.0), SR)
    with pytest.raises(AudioLabError, match="The clips hold 305 s of audio; the limit is 300 s"):
        train.clip_set([five_seconds] * 61, ["a"] * 31 + ["b"] * 30)
