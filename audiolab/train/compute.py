"""Freeze a backbone, train a new head: the autograd lesson (``loss.backward()``, ``.grad``,
``requires_grad=False``, ``model.fc = nn.Linear(...)``, ``optim.SGD``, ``torch.no_grad()``) on sound.

The pieces, in the order the Train tab uses them:

- :func:`clip_set` / :func:`builtin_set`: labelled clips, mono at :data:`limits.TRAIN_SAMPLE_RATE`.
- :func:`mfcc_backbone` / :func:`wav2vec2_backbone`: a frozen feature extractor (every parameter
  ``requires_grad=False``) whose output is averaged over time: one ``(dim,)`` vector per clip.
- :func:`prepare`: the held-out split and the features, computed ONCE under
  ``torch.inference_mode()`` (then cloned into normal tensors), not every epoch.
- :func:`fit`: a new :class:`Head` (``nn.Linear(feature_dim, n_labels)`` on standardised
  features, the only trainable part) trained with ``optim.SGD``; yields after every epoch.
- :func:`predict`: class probabilities of a new clip; :class:`TrainedHead` is what a user keeps
  (per-session state, ``.pt`` download and upload).
"""

from __future__ import annotations

import io
import json
import math
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
import torchaudio.transforms as T
from torch import nn

from audiolab.core import cache, figdata, limits, plots
from audiolab.core import io as aio
from audiolab.core import labels as figure_labels
from audiolab.core.deadline import Deadline
from audiolab.core.errors import AudioLabError

BACKBONES = ("mfcc", "wav2vec2")
BUILTIN_LABELS = ("low tone", "high tone", "noise")
MFCC_N_FFT, MFCC_HOP = 400, 160  # 25 ms windows every 10 ms at 16 kHz
STD_FLOOR = 1e-4  # feature standard deviations below this are raised to it (constant features)
HEAD_FORMAT = "audiolab-train-head/1"
DEFAULT_N_MFCC = 13  # the classic choice; 40 overfits the built-in set's 36 training clips
CONFIG_KEYS = ("kind", "n_mfcc", "model", "layer")


# --- labelled clips ---------------------------------------------------------------------------


@dataclass
class ClipSet:
    """Labelled clips: ``waveforms[i]`` is ``(1, time)`` float32 at ``sample_rate``, its label
    ``labels[targets[i]]``; ``names`` are the file names (for the code panel)."""

    waveforms: list[torch.Tensor]
    targets: torch.Tensor
    labels: list[str]
    names: list[str]
    sample_rate: int = limits.TRAIN_SAMPLE_RATE
    notes: list[str] = field(default_factory=list)


def check_label(name: object) -> str:
    """A label name, stripped; empty or too long names are refused."""
    text = " ".join(str(name if name is not None else "").split())
    if not text:
        raise AudioLabError(
            "Every clip needs a label: type a name such as 'yes' before adding clips.",
            zh="每个片段都需要标签：添加片段前先输入一个名称，例如 'yes'。",
        )
    if len(text) > limits.TRAIN_LABEL_MAX_CHARS:
        raise AudioLabError(f"The label {text[:60]!r} is {len(text)} characters long; at most "
                            f"{limits.TRAIN_LABEL_MAX_CHARS} are allowed.",
                            zh=(
                                f"标签 {text[:60]!r} 长 {len(text)} 个字符；最多允许 {limits.TRAIN_LABEL_MAX_CHARS} 个"
                                "。"
                            ))  # fmt: skip
    return text


def parse_labels(value: object) -> list[str]:
    """Per-clip labels from a JSON list (``'["yes", "no"]'``), a Python list, or comma/newline text."""
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        text = str(value or "").strip()
        try:
            items = json.loads(text) if text.startswith("[") else None
        except json.JSONDecodeError as err:
            raise AudioLabError(
                f"The labels are not a valid JSON list: {err.msg} at character {err.pos}.",
                zh=f"标签不是有效的 JSON 列表：第 {err.pos} 个字符处 {err.msg}。",
            ) from None
        if items is None:
            items = [part for line in text.splitlines() for part in line.split(",")] if text else []
    if not isinstance(items, list) or len(items) > limits.TRAIN_MAX_CLIPS:
        raise AudioLabError(
            f"The labels must be a list of at most {limits.TRAIN_MAX_CLIPS} names, one per clip.",
            zh=f"标签必须是最多 {limits.TRAIN_MAX_CLIPS} 个名称的列表，每个片段一个。",
        )
    return [check_label(item) for item in items]


def _mono_clip(waveform: torch.Tensor, sample_rate: int, notes: list[str]) -> tuple[torch.Tensor, bool]:
    """``(1, time)`` at the training rate, cut to the longest clip; and whether it was cut."""
    aio.validate_waveform(waveform, sample_rate)
    mono = waveform.mean(0, keepdim=True) if waveform.shape[0] > 1 else waveform
    keep = int(limits.TRAIN_MAX_CLIP_S * sample_rate)
    cut = mono.shape[-1] > keep
    mono = aio.resample(mono[:, :keep].contiguous(), sample_rate, limits.TRAIN_SAMPLE_RATE, notes)
    if mono.shape[-1] < limits.TRAIN_MIN_CLIP_S * limits.TRAIN_SAMPLE_RATE:
        raise AudioLabError(f"A clip is {mono.shape[-1] / limits.TRAIN_SAMPLE_RATE * 1000:.0f} ms long; "
                            f"clips need at least {limits.TRAIN_MIN_CLIP_S * 1000:.0f} ms.",
                            zh=(
                                f"有一个片段长 {mono.shape[-1] / limits.TRAIN_SAMPLE_RATE * 1000:.0f} 毫秒；片段至少需"
                                f"要 {limits.TRAIN_MIN_CLIP_S * 1000:.0f} 毫秒。"
                            ))  # fmt: skip
    return mono, cut


def check_counts(clip_labels: Sequence[str]) -> list[str]:
    """The distinct labels (in order of first appearance) after checking clip and label counts."""
    n = len(clip_labels)
    if n == 0:
        raise AudioLabError(
            "The set has no clips yet: load the built-in set, or record or upload clips and add them.",
            zh="数据集中还没有片段：请加载内置数据集，或录制/上传片段并添加。",
        )
    if n > limits.TRAIN_MAX_CLIPS:
        raise AudioLabError(f"The set has {n} clips; use between {2 * limits.TRAIN_LABELS_RANGE[0]} and "
                            f"{limits.TRAIN_MAX_CLIPS}.",
                            zh=(
                                f"数据集有 {n} 个片段；请使用 {2 * limits.TRAIN_LABELS_RANGE[0]} 到 "
                                f"{limits.TRAIN_MAX_CLIPS} 个。"
                            ))  # fmt: skip
    labels = list(dict.fromkeys(clip_labels))
    lo, hi = limits.TRAIN_LABELS_RANGE
    if not lo <= len(labels) <= hi:
        raise AudioLabError(
            f"The set has {len(labels)} label(s) ({', '.join(labels)}); use {lo} to {hi} labels.",
            zh=f"数据集有 {len(labels)} 个标签（{', '.join(labels)}）；请使用 {lo} 到 {hi} 个标签。",
        )
    few = [f"{name!r} ({clip_labels.count(name)})" for name in labels
           if clip_labels.count(name) < limits.TRAIN_MIN_CLIPS_PER_LABEL]  # fmt: skip
    if few:
        raise AudioLabError(f"Each label needs at least {limits.TRAIN_MIN_CLIPS_PER_LABEL} clips (one is held out "
                            f"for testing); too few for: {', '.join(few)}.",
                            zh=(
                                f"每个标签至少需要 {limits.TRAIN_MIN_CLIPS_PER_LABEL} 个片段（其中一个留作测试）；以下"
                                f"标签太少：{', '.join(few)}。"
                            ))  # fmt: skip
    return labels


def clip_set(clips: Sequence[tuple[torch.Tensor, int]], clip_labels: Sequence[str], *,
             names: Sequence[str] | None = None) -> ClipSet:  # fmt: skip
    """Check counts and lengths, mix to mono, cut and resample ``(waveform, rate)`` clips."""
    if len(clips) != len(clip_labels):
        raise AudioLabError(
            f"There are {len(clips)} clips but {len(clip_labels)} labels: give one label per clip.",
            zh=f"有 {len(clips)} 个片段，但有 {len(clip_labels)} 个标签：请为每个片段给一个标签。",
        )
    clip_labels = [check_label(x) for x in clip_labels]
    labels = check_counts(clip_labels)
    notes: list[str] = []
    waveforms, cut = [], 0
    for waveform, rate in clips:
        mono, was_cut = _mono_clip(waveform, rate, notes)
        waveforms.append(mono)
        cut += was_cut
    total = sum(w.shape[-1] for w in waveforms) / limits.TRAIN_SAMPLE_RATE
    if total > limits.TRAIN_MAX_TOTAL_S:
        raise AudioLabError(f"The clips hold {total:.0f} s of audio; the limit is {limits.TRAIN_MAX_TOTAL_S:.0f} s. "
                            "Use fewer or shorter clips.",
                            zh=(
                                f"这些片段共有 {total:.0f} 秒音频；上限为 {limits.TRAIN_MAX_TOTAL_S:.0f} 秒。请使用更"
                                "少或更短的片段。"
                            ))  # fmt: skip
    if cut:
        notes.append(f"{cut} clip(s) were cut to their first {limits.TRAIN_MAX_CLIP_S:g} s.")
    targets = torch.tensor([labels.index(x) for x in clip_labels], dtype=torch.int64)
    names = list(names) if names is not None else [f"clip{i:03d}.wav" for i in range(len(clips))]
    return ClipSet(waveforms, targets, labels, names, notes=list(dict.fromkeys(notes)))


# --- the built-in set -------------------------------------------------------------------------


def builtin_clip(label: str, *, seed: int = 0, index: int = 0) -> torch.Tensor:
    """One synthesized clip ``(1, time)`` at 16 kHz of a built-in label: a low tone (120-300 Hz),
    a high tone (900-2000 Hz), both with two harmonics, or white noise; random length
    (0.4-0.8 s), amplitude, background noise and fades, all drawn from ``(seed, label, index)``."""
    label = str(limits.check_choice("built-in label", label, BUILTIN_LABELS))
    seed = int(limits.check_number("seed", seed, *limits.TRAIN_SEED_RANGE, integer=True))
    g = torch.Generator().manual_seed(seed * 7919 + BUILTIN_LABELS.index(label) * 104_729 + int(index))
    rate = limits.TRAIN_SAMPLE_RATE

    def uniform(lo: float, hi: float) -> float:
        return lo + (hi - lo) * float(torch.rand((), generator=g, dtype=torch.float64))

    n = int(uniform(0.4, 0.8) * rate)
    t = torch.arange(n, dtype=torch.float64) / rate
    if label == "noise":
        x = torch.randn(n, generator=g, dtype=torch.float64)
    else:
        f0 = uniform(120.0, 300.0) if label == "low tone" else uniform(900.0, 2000.0)
        x = sum(uniform(0.2, 1.0) ** (k - 1) * torch.sin(2 * math.pi * k * f0 * t + uniform(0, 6.3))
                for k in (1, 2, 3))  # fmt: skip
    x = x / x.abs().max() + uniform(0.002, 0.02) * torch.randn(n, generator=g, dtype=torch.float64)
    ramp = min(n // 4, int(0.02 * rate))
    fade = torch.ones(n, dtype=torch.float64)
    fade[:ramp] = torch.hann_window(2 * ramp, periodic=False, dtype=torch.float64)[:ramp]
    fade[n - ramp :] = fade[:ramp].flip(0)
    x = x * fade
    return (uniform(0.2, 0.8) * x / x.abs().max()).to(torch.float32)[None]


def builtin_set(*, seed: int = 0, per_label: int = limits.TRAIN_BUILTIN_CLIPS_PER_LABEL) -> ClipSet:
    """The built-in set: ``per_label`` clips of each of :data:`BUILTIN_LABELS` (deterministic in ``seed``)."""
    clips, clip_labels, names = [], [], []
    for label in BUILTIN_LABELS:
        for i in range(per_label):
            clips.append((builtin_clip(label, seed=seed, index=i), limits.TRAIN_SAMPLE_RATE))
            clip_labels.append(label)
            names.append(f"{label.replace(' ', '_')}_{i:02d}.wav")
    return clip_set(clips, clip_labels, names=names)


def split(targets: torch.Tensor, *, test_fraction: float = 0.25, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Stratified held-out split: ``(train_idx, test_idx)``, each label keeping >= 1 clip on each side."""
    test_fraction = limits.check_number("test fraction", test_fraction, *limits.TRAIN_TEST_FRACTION_RANGE)
    g = torch.Generator().manual_seed(int(seed))
    train, test = [], []
    for label in range(int(targets.max()) + 1):
        idx = (targets == label).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = min(max(1, round(test_fraction * len(idx))), len(idx) - 1)
        test.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


# --- frozen backbones -------------------------------------------------------------------------


def freeze(module: nn.Module) -> nn.Module:
    """``requires_grad=False`` on every parameter (no ``.grad`` is ever made for them), eval mode."""
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def count_parameters(module: nn.Module) -> tuple[int, int]:
    """``(trainable, frozen)`` parameter counts (elements), as the seed counts them."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in module.parameters() if not p.requires_grad)


def parameters_with_grad(module: nn.Module) -> list[str]:
    """Names of the parameters whose ``.grad`` is set (a frozen module has none)."""
    return [name for name, p in module.named_parameters() if p.grad is not None]


class MfccBackbone(nn.Module):
    """``T.MFCC`` averaged over time: ``(batch, time)`` -> ``(batch, n_mfcc)``. No parameters, only
    buffers (mel filterbank, DCT matrix, window): nothing here could learn."""

    def __init__(self, mfcc: T.MFCC) -> None:
        super().__init__()
        self.mfcc = mfcc
        self.feature_dim, self.sample_rate = int(mfcc.n_mfcc), int(mfcc.sample_rate)
        self.config = {"kind": "mfcc", "n_mfcc": self.feature_dim, "sample_rate": self.sample_rate,
                       "n_fft": MFCC_N_FFT, "hop_length": MFCC_HOP, "n_mels": limits.TRAIN_N_MELS}  # fmt: skip

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.mfcc(waveform).mean(dim=-1)


class Wav2Vec2Backbone(nn.Module):
    """A ``torchaudio.models.Wav2Vec2Model``'s transformer ``layer`` (1-based) output from
    ``extract_features``, averaged over frames: ``(batch, time)`` -> ``(batch, embed_dim)``."""

    def __init__(self, model: nn.Module, *, layer: int, sample_rate: int, normalize_eps: float | None,
                 name: str) -> None:  # fmt: skip
        super().__init__()
        self.model, self.layer, self.normalize_eps = model, layer, normalize_eps
        self.feature_dim = int(model.encoder.feature_projection.projection.out_features)
        self.sample_rate = int(sample_rate)
        self.config = {"kind": "wav2vec2", "model": name, "layer": layer, "sample_rate": self.sample_rate}

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        if self.normalize_eps is not None:  # models trained on zero-mean, unit-variance clips
            waveform = F.layer_norm(waveform, waveform.shape[-1:], eps=self.normalize_eps)
        features, _ = self.model.extract_features(waveform, num_layers=self.layer)
        return features[-1].mean(dim=1)


def _mfcc_transform(n_mfcc: int) -> T.MFCC:
    melkwargs = {"n_fft": MFCC_N_FFT, "hop_length": MFCC_HOP, "n_mels": limits.TRAIN_N_MELS}
    return T.MFCC(sample_rate=limits.TRAIN_SAMPLE_RATE, n_mfcc=n_mfcc, melkwargs=melkwargs)


def mfcc_backbone(*, n_mfcc: int = DEFAULT_N_MFCC, device: str | None = None) -> MfccBackbone:
    """The MFCC backbone (16 kHz, 25 ms / 10 ms frames, 64 mel bands); the transform is cached."""
    n_mfcc = int(limits.check_number("n_mfcc", n_mfcc, *limits.TRAIN_N_MFCC_RANGE, integer=True))
    mfcc = cache.transform("MFCC", (limits.TRAIN_SAMPLE_RATE, n_mfcc, MFCC_N_FFT, MFCC_HOP, limits.TRAIN_N_MELS),
                           lambda: _mfcc_transform(n_mfcc), device)  # fmt: skip
    return freeze(MfccBackbone(mfcc))


def wav2vec2_backbone(model: nn.Module, *, layer: int = limits.TRAIN_W2V_DEFAULT_LAYER, sample_rate: int = 16_000,
                      normalize_eps: float | None = None, name: str = "wav2vec2") -> Wav2Vec2Backbone:  # fmt: skip
    """A frozen ``Wav2Vec2Model`` (every parameter ``requires_grad=False``) pooled at ``layer``."""
    layers = len(model.encoder.transformer.layers)
    layer = int(limits.check_number("layer", layer, 1, limits.W2V_MAX_LAYERS, integer=True))
    if layer > layers:
        raise AudioLabError(
            f"layer={layer} is out of range: {name} has {layers} transformer layers.",
            zh=f"layer={layer} 超出范围：{name} 只有 {layers} 个 Transformer 层。",
        )
    return freeze(Wav2Vec2Backbone(model, layer=layer, sample_rate=sample_rate, normalize_eps=normalize_eps,
                                   name=name))  # fmt: skip


def backbone_config(kind: object, *, n_mfcc: object = DEFAULT_N_MFCC, model: object = limits.TRAIN_W2V_DEFAULT_MODEL,
                    layer: object = limits.TRAIN_W2V_DEFAULT_LAYER) -> dict:  # fmt: skip
    """A validated description of a backbone (what :func:`load_backbone` and the ``.pt`` file use)."""
    kind = limits.check_choice("backbone", kind, BACKBONES)
    if kind == "mfcc":
        n = int(limits.check_number("n_mfcc", n_mfcc, *limits.TRAIN_N_MFCC_RANGE, integer=True))
        return {"kind": "mfcc", "n_mfcc": n}
    from audiolab.wav2vec2 import models as w2v_models

    layer = int(limits.check_number("layer", layer, 1, limits.W2V_MAX_LAYERS, integer=True))
    return {"kind": "wav2vec2", "model": w2v_models.check_model_name(model), "layer": layer}


def load_backbone(config: dict) -> nn.Module:
    """The frozen backbone ``config`` describes; wav2vec2 weights come from :mod:`audiolab.wav2vec2.models`
    (shared cache), raising :class:`ModelUnavailableError` when they cannot be had."""
    config = backbone_config(**{k: config[k] for k in CONFIG_KEYS if k in config})
    if config["kind"] == "mfcc":
        return mfcc_backbone(n_mfcc=config["n_mfcc"])
    from audiolab.wav2vec2 import models as w2v_models

    w2v = w2v_models.load_model(config["model"])
    return wav2vec2_backbone(w2v.model, layer=config["layer"], sample_rate=w2v.sample_rate,
                             normalize_eps=w2v.normalize_eps, name=w2v.name)  # fmt: skip


def embed(backbone: nn.Module, waveforms: Sequence[torch.Tensor], sample_rate: int, *,
          deadline: Deadline | None = None) -> torch.Tensor:  # fmt: skip
    """Pooled features ``(clips, feature_dim)`` on the CPU, one clip at a time (no padding).

    Runs under ``torch.inference_mode()`` (no graph, no version counters); the result is
    cloned outside it, so it is a normal tensor that autograd may use later.
    """
    device = cache.device_of(backbone)
    rows = []
    with torch.inference_mode():
        for w in waveforms:
            if deadline is not None:
                deadline.check("Computing the backbone's features")
            w = aio.resample(w, sample_rate, backbone.sample_rate)
            rows.append(backbone(w.to(device)).float().cpu())
        stacked = torch.cat(rows)
    return stacked.clone()


# --- the head ---------------------------------------------------------------------------------


class Head(nn.Module):
    """The new classifier: ``fc = nn.Linear(feature_dim, n_labels)`` on standardised features.

    ``mean``/``std`` are buffers (the training clips' statistics), not parameters: only ``fc``
    is trained. SGD with lr 1e-2 needs features of unit scale (raw MFCCs reach hundreds).
    """

    def __init__(self, feature_dim: int, n_labels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(feature_dim))
        self.register_buffer("std", torch.ones(feature_dim))
        self.fc = nn.utils.skip_init(nn.Linear, feature_dim, n_labels)  # initialised by new_head

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc((features - self.mean) / self.std)


def new_head(train_features: torch.Tensor, n_labels: int, *, generator: torch.Generator) -> Head:
    """A head standardising with ``train_features``' statistics; ``fc`` initialised exactly as
    ``nn.Linear`` does, drawing from ``generator`` (``torch.manual_seed(s); nn.Linear(...)`` gives
    the same numbers as ``torch.Generator().manual_seed(s)`` here)."""
    head = Head(train_features.shape[1], n_labels)
    with torch.no_grad():
        head.mean.copy_(train_features.mean(0))
        head.std.copy_(train_features.std(0, unbiased=False).clamp_min(STD_FLOOR))
        nn.init.kaiming_uniform_(head.fc.weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(train_features.shape[1])
        nn.init.uniform_(head.fc.bias, -bound, bound, generator=generator)
    return head


# --- training ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and loop settings (defaults: the seed's ``optim.SGD(lr=1e-2, momentum=0.9)``)."""

    epochs: int = 50
    lr: float = 1e-2
    momentum: float = 0.9
    batch_size: int = 8
    test_fraction: float = 0.25
    seed: int = 0

    def checked(self) -> TrainConfig:
        """The same settings, validated against :mod:`audiolab.core.limits` (raises otherwise)."""
        check = limits.check_number
        return TrainConfig(
            epochs=int(check("epochs", self.epochs, *limits.TRAIN_EPOCHS_RANGE, integer=True)),
            lr=check("learning rate", self.lr, *limits.TRAIN_LR_RANGE),
            momentum=check("momentum", self.momentum, *limits.TRAIN_MOMENTUM_RANGE),
            batch_size=int(check("batch size", self.batch_size, *limits.TRAIN_BATCH_RANGE, integer=True)),
            test_fraction=check("test fraction", self.test_fraction, *limits.TRAIN_TEST_FRACTION_RANGE),
            seed=int(check("seed", self.seed, *limits.TRAIN_SEED_RANGE, integer=True)),
        )


@dataclass
class Prepared:
    """Features of every clip ``(clips, dim)`` (CPU), targets, the split and the parameter counts."""

    features: torch.Tensor
    targets: torch.Tensor
    labels: list[str]
    names: list[str]
    train_idx: torch.Tensor
    test_idx: torch.Tensor
    backbone: dict
    frozen_parameters: int
    backbone_buffers: int
    feature_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def trainable_parameters(self) -> int:
        """Elements of the head's ``fc`` (weight + bias): the only ones trained."""
        return (self.features.shape[1] + 1) * len(self.labels)


def prepare(clips: ClipSet, backbone: nn.Module, config: TrainConfig) -> Prepared:
    """Split the clips and compute the frozen backbone's features once (see :func:`embed`)."""
    config = config.checked()
    freeze(backbone)
    train_idx, test_idx = split(clips.targets, test_fraction=config.test_fraction, seed=config.seed)
    start = time.perf_counter()
    features = embed(backbone, clips.waveforms, clips.sample_rate, deadline=Deadline())
    trainable, frozen = count_parameters(backbone)
    if trainable:
        raise RuntimeError(f"the backbone has {trainable} trainable parameters")
    buffers = sum(b.numel() for b in backbone.buffers())
    return Prepared(features, clips.targets.clone(), list(clips.labels), list(clips.names), train_idx, test_idx,
                    dict(backbone.config), frozen, buffers, time.perf_counter() - start, list(clips.notes))  # fmt: skip


@dataclass
class TrainResult:
    """Per-epoch history (mean training loss, accuracies, gradient norm) and, when ``done``,
    the trained head (CPU) and the held-out confusion matrix (rows: true label, columns: predicted)."""

    labels: list[str]
    config: TrainConfig
    device: str
    epochs: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    head: Head | None = None
    confusion: torch.Tensor | None = None
    done: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def summary(self, prepared: Prepared | None = None) -> dict:
        """JSON-ready numbers (what the API returns)."""
        out = {
            "labels": self.labels, "epochs": self.epochs, "loss": self.loss, "train_accuracy": self.train_accuracy,
            "test_accuracy_curve": self.test_accuracy, "grad_norm": self.grad_norm,
            "test_accuracy": self.test_accuracy[-1] if self.test_accuracy else None,
            "confusion": self.confusion.tolist() if self.confusion is not None else None,
            "optimizer": {"name": "SGD", "lr": self.config.lr, "momentum": self.config.momentum},
            "batch_size": self.config.batch_size, "seed": self.config.seed, "device": self.device,
            "train_seconds": round(self.seconds, 4), "done": self.done, "notes": self.notes,
        }  # fmt: skip
        if prepared is not None:
            out.update(backbone=prepared.backbone, feature_dim=prepared.features.shape[1],
                       trainable_parameters=prepared.trainable_parameters,
                       frozen_parameters=prepared.frozen_parameters, n_train=len(prepared.train_idx),
                       n_test=len(prepared.test_idx), feature_seconds=round(prepared.feature_seconds, 4))  # fmt: skip
        return out


def _accuracy(head: Head, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((head(x).argmax(dim=1) == y).float().mean())


def confusion_matrix(predicted: torch.Tensor, true: torch.Tensor, n_labels: int) -> torch.Tensor:
    """Counts ``(n_labels, n_labels)``: row = true label, column = predicted label."""
    flat = torch.bincount(true * n_labels + predicted, minlength=n_labels * n_labels)
    return flat.view(n_labels, n_labels)


def _epoch(head: Head, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, order: torch.Tensor,
           batch_size: int) -> float:  # fmt: skip
    """One pass over the training clips in ``order``; the mean loss (weighted by batch size)."""
    head.train()
    total = 0.0
    for batch in order.split(batch_size):
        optimizer.zero_grad()  # .grad is accumulated by backward(): reset it every step
        loss = F.cross_entropy(head(x[batch]), y[batch])
        loss.backward()  # fills .grad of fc.weight and fc.bias only (the rest has requires_grad=False)
        optimizer.step()
        total += loss.item() * len(batch)
    return total / len(order)


def fit(prepared: Prepared, config: TrainConfig, *, device: str | None = None,
        max_seconds: float = limits.TRAIN_MAX_TRAIN_S) -> Iterator[TrainResult]:  # fmt: skip
    """Train a new head with ``optim.SGD``; yield the (growing) result after every epoch and
    once more when ``done``. Past ``max_seconds`` the loop stops early with a note."""
    config = config.checked()
    device = device or cache.default_device()
    g = torch.Generator().manual_seed(config.seed)
    x, y = prepared.features.to(device), prepared.targets.to(device)
    train_idx, test_idx = prepared.train_idx, prepared.test_idx
    head = new_head(prepared.features[train_idx], len(prepared.labels), generator=g).to(device)
    optimizer = torch.optim.SGD(head.parameters(), lr=config.lr, momentum=config.momentum)
    result = TrainResult(list(prepared.labels), config, str(device))
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        order = train_idx[torch.randperm(len(train_idx), generator=g)].to(device)
        result.loss.append(_epoch(head, optimizer, x, y, order, config.batch_size))
        head.eval()
        result.epochs.append(epoch)
        result.train_accuracy.append(_accuracy(head, x[train_idx.to(device)], y[train_idx.to(device)]))
        result.test_accuracy.append(_accuracy(head, x[test_idx.to(device)], y[test_idx.to(device)]))
        result.grad_norm.append(float(head.fc.weight.grad.norm()))
        result.seconds = time.perf_counter() - start
        if epoch < config.epochs and result.seconds > max_seconds:
            result.notes.append(f"Training stopped after {epoch} of {config.epochs} epochs: the {max_seconds:g} s "
                                "time limit was reached. The head trained so far is kept.")  # fmt: skip
            break
        yield result
    with torch.no_grad():
        predicted = head(x[test_idx.to(device)]).argmax(dim=1).cpu()
    result.confusion = confusion_matrix(predicted, prepared.targets[test_idx], len(prepared.labels))
    result.head, result.done = head.cpu().eval(), True
    yield result


def train_head(prepared: Prepared, config: TrainConfig, *, device: str | None = None) -> TrainResult:
    """:func:`fit` run to the end: the final result."""
    return deque(fit(prepared, config, device=device), maxlen=1)[0]


# --- the trained head: state, .pt file, classification ---------------------------------------


@dataclass
class TrainedHead:
    """What a user keeps after training: the head's ``state_dict`` (CPU), labels and backbone."""

    labels: list[str]
    backbone: dict
    state_dict: dict[str, torch.Tensor]

    @classmethod
    def of(cls, result: TrainResult, prepared: Prepared) -> TrainedHead:
        """The head of a finished :func:`fit`."""
        state = {k: v.detach().cpu().clone() for k, v in result.head.state_dict().items()}
        return cls(list(result.labels), dict(prepared.backbone), state)

    def module(self) -> Head:
        """The :class:`Head` with these weights, eval mode."""
        head = Head(self.state_dict["fc.weight"].shape[1], len(self.labels))
        head.load_state_dict(self.state_dict)
        return head.eval()

    def to_bytes(self) -> bytes:
        """A ``.pt`` file (``torch.save`` of plain dicts, lists and tensors: ``weights_only`` loads it)."""
        buf = io.BytesIO()
        torch.save({"format": HEAD_FORMAT, "labels": self.labels, "backbone": self.backbone,
                    "state_dict": self.state_dict}, buf)  # fmt: skip
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TrainedHead:
        """Read a ``.pt`` written by :meth:`to_bytes` (``weights_only=True``: no code runs), validated."""
        if len(data) > limits.TRAIN_MAX_HEAD_BYTES:
            raise AudioLabError(f"The head file is {len(data) / 2**20:.1f} MB; a trained head is at most "
                                f"{limits.TRAIN_MAX_HEAD_BYTES / 2**20:.0f} MB.",
                                zh=(
                                    f"分类头文件大小为 {len(data) / 2**20:.1f} MB；训练得到的分类头最多 "
                                    f"{limits.TRAIN_MAX_HEAD_BYTES / 2**20:.0f} MB。"
                                ))  # fmt: skip
        not_ours = AudioLabError(
            "This is not a head file saved by the Train tab (head.pt).", zh="这不是训练页保存的分类头文件（head.pt）。"
        )
        try:
            obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - any unreadable file gets the same clear message
            raise not_ours from None
        if not isinstance(obj, dict) or obj.get("format") != HEAD_FORMAT:
            raise not_ours
        try:
            labels, state, backbone = list(obj["labels"]), dict(obj["state_dict"]), dict(obj["backbone"])
        except (KeyError, TypeError, ValueError):
            raise not_ours from None
        limits.check_number("number of labels", len(labels), *limits.TRAIN_LABELS_RANGE, integer=True)
        config = backbone_config(**{k: backbone[k] for k in CONFIG_KEYS if k in backbone})
        head = cls([check_label(x) for x in labels], {**backbone, **config}, state)
        try:
            head.module()  # the weights' names and shapes must fit a head for these labels
        except (KeyError, RuntimeError, TypeError, AttributeError):
            raise not_ours from None
        return head


def predict(backbone: nn.Module, head: Head, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
    """Class probabilities ``(n_labels,)`` of one clip (mono, cut and resampled as for training)."""
    mono, _ = _mono_clip(waveform, sample_rate, [])
    features = embed(backbone, [mono], limits.TRAIN_SAMPLE_RATE)
    if features.shape[1] != head.fc.in_features:
        raise AudioLabError(f"The backbone gives {features.shape[1]} features but the head expects "
                            f"{head.fc.in_features}.",
                            zh=(
                                f"骨干网络输出 {features.shape[1]} 维特征，但分类头需要 {head.fc.in_features} 维。"
                            ))  # fmt: skip
    with torch.no_grad():
        return torch.softmax(head(features), dim=1)[0]


def classify(trained: TrainedHead, waveform: torch.Tensor, sample_rate: int) -> dict[str, float]:
    """``{label: probability}`` of ``(channel, time)`` audio under a trained head (highest first)."""
    probs = predict(load_backbone(trained.backbone), trained.module(), waveform, sample_rate)
    ranked = sorted(zip(trained.labels, probs.tolist(), strict=True), key=lambda kv: -kv[1])
    return dict(ranked)


# --- figures ----------------------------------------------------------------------------------


def curve_image(result: TrainResult) -> np.ndarray:
    """Training loss (left axis) and train / held-out accuracy (right axis) against epochs."""
    fig = plots.new_figure(figsize=(8, 3.4), dpi=plots.DPI)
    ax = fig.add_subplot()
    marker = "o" if len(result.epochs) <= 40 else None
    ax.plot(result.epochs, result.loss, color="tab:red", marker=marker, markersize=3, label="training loss")
    ax.set(xlabel="Epoch", ylabel="Cross-entropy loss", xlim=(0.5, max(result.config.epochs, 1) + 0.5))
    ax.set_ylim(bottom=0)
    acc = ax.twinx()
    acc.plot(result.epochs, result.train_accuracy, color="tab:blue", label="train accuracy")
    acc.plot(result.epochs, result.test_accuracy, color="tab:green", linestyle="--", label="held-out accuracy")
    acc.set(ylabel="Accuracy", ylim=(-0.02, 1.02))
    lines = ax.get_lines() + acc.get_lines()
    ax.legend(lines, [line.get_label() for line in lines], loc="center right", fontsize=8)
    ax.grid(alpha=0.3)
    title = f"SGD lr={result.config.lr:g} momentum={result.config.momentum:g}, epoch {len(result.epochs)}"
    ax.set_title(title + f"/{result.config.epochs} on {result.device}")
    fig.tight_layout()
    fig.subplots_adjust(top=0.8)  # room above the title for the image's label
    return plots.figure_to_rgb(fig)


def confusion_image(confusion: torch.Tensor, labels: Sequence[str]) -> np.ndarray:
    """The held-out confusion matrix with counts (rows: true label, columns: predicted)."""
    n = len(labels)
    fig = plots.new_figure(figsize=(2.2 + 0.55 * n, 1.8 + 0.5 * n), dpi=plots.DPI)
    ax = fig.add_subplot()
    data = confusion.numpy()
    ax.imshow(data, cmap="Blues", vmin=0, vmax=max(int(data.max()), 1))
    for i in range(n):
        for j in range(n):
            color = "white" if data[i, j] > data.max() / 2 else "black"
            ax.text(j, i, str(int(data[i, j])), ha="center", va="center", color=color)
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    accuracy = np.trace(data) / max(data.sum(), 1)
    ax.set(xlabel="Predicted label", ylabel="True label", title=f"Held-out clips: {accuracy:.0%} correct")
    fig.tight_layout()
    fig.subplots_adjust(top=fig.subplotpars.top - 0.06)  # room above the title for the image's label
    rgb = plots.figure_to_rgb(fig)
    count = figure_labels.label("Count")
    table = figdata.grid(ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), count, data, x=list(labels), y=list(labels))
    return figdata.attach(rgb, [table])
