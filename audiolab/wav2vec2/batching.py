"""Micro-batching of wav2vec2 forward passes: concurrent requests for one model run as one batch.

Each caller (a Gradio worker thread) hands over one ``(1, time)`` chunk on the model's device and
gets back the ``(1, frames, tokens)`` logits ``model.model(chunk)[0]`` would give. Chunks that
arrive within ``limits.W2V_BATCH_WINDOW_S`` of the oldest waiting one are run together, up to
``limits.W2V_MAX_BATCH`` chunks and ``limits.W2V_MAX_BATCH_SAMPLES`` padded samples.

There is no worker thread: the first caller that finds the batcher idle leads, i.e. collects a
batch, runs it on its own thread and hands the results out; callers that arrive meanwhile wait on
a condition and queue up for the next batch, which one of them leads. So a batch forms naturally
from what arrived while the previous one ran. With ``W2V_MAX_BATCH = 1`` (or a model whose
attention is not torchaudio's ``SelfAttention``) each call runs its own pass, as without a batcher.

Exactness. The feature extractor of the base models normalises each channel over time
(``GroupNorm`` in its first layer), so padded audio would change every frame: the extractor runs
per chunk (chunks of equal length together; all chunks together when no layer normalises over
time). Its output is padded with zeros to the longest and the encoder runs once with ``lengths``:
torchaudio zeroes the padded frames after the feature projection (so the positional convolution
sees the same zeros as at the end of a lone chunk) and adds -10000 to their attention scores
(``exp`` of that is 0 in float32), so valid frames equal a lone pass within float rounding.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import weakref
from collections import deque

import torch
from torchaudio.models.wav2vec2.components import SelfAttention

from audiolab.core import limits
from audiolab.wav2vec2.models import W2VModel


@dataclasses.dataclass
class BatchStats:
    """What a batcher has run: forward passes (a lone chunk counts), chunks answered, the most
    chunks in one pass, and batches that failed and were rerun chunk by chunk."""

    batches: int = 0
    items: int = 0
    largest: int = 0
    reruns: int = 0


class _Request:
    """One caller's chunk and, once ``done``, its ``result`` or ``error``."""

    __slots__ = ("arrived", "chunk", "done", "error", "result")

    def __init__(self, chunk: torch.Tensor) -> None:
        self.chunk, self.arrived = chunk, time.monotonic()
        self.done, self.result, self.error = False, None, None

    def outcome(self) -> torch.Tensor:
        error, self.error = self.error, None
        if error is None:
            return self.result
        try:
            raise error
        finally:  # no cycle (frame -> error -> traceback -> frame) keeping a failed pass's tensors alive
            del error


class MicroBatcher:
    """Runs the forward passes of one :class:`~audiolab.wav2vec2.models.W2VModel` for concurrent callers."""

    def __init__(self, model: W2VModel) -> None:
        self._model = weakref.ref(model)  # the registry is keyed by the model: no strong reference back
        self.batchable = _batchable(model)
        self._cond = threading.Condition()
        self._queue: deque[_Request] = deque()
        self._busy = False  # a caller is collecting or running a batch
        self._stats = BatchStats()

    def logits(self, chunk: torch.Tensor) -> torch.Tensor:
        """``model.model(chunk)[0]``: ``(1, frames, tokens)`` logits (no gradients, on the model's
        device) of a ``(1, time)`` chunk at the model's rate on its device; the forward pass may be
        shared with other callers' chunks. Errors are this chunk's own (``torch.OutOfMemoryError``
        stays one)."""
        if chunk.dim() != 2 or chunk.shape[0] != 1:
            raise ValueError(f"MicroBatcher.logits() takes a (1, time) chunk, got shape {tuple(chunk.shape)}")
        off = not self.batchable or limits.W2V_MAX_BATCH <= 1 or chunk.device.type not in limits.W2V_BATCH_DEVICES
        if off:  # one pass per call on the caller's thread, as without a batcher
            return self._alone(chunk)
        request = _Request(chunk)
        with self._cond:
            self._queue.append(request)
            self._cond.notify_all()
            while self._busy and not request.done:
                self._cond.wait()
            lead = not request.done  # the batcher is idle: this caller runs the next batch
            if lead:
                self._busy = True
        if lead:
            self._lead(request)
        return request.outcome()

    def _alone(self, chunk: torch.Tensor) -> torch.Tensor:
        """``model.model(chunk)[0]`` on the caller's thread (concurrent callers run in parallel)."""
        model = self._model()
        if model is None:  # cannot happen while the caller holds the model
            raise RuntimeError("the model of this batcher was freed")
        request = _Request(chunk)
        request.result, request.error = _single(model, chunk)
        with self._cond:
            self._record(1)
        return request.outcome()

    def stats(self) -> BatchStats:
        """A copy of the counters."""
        with self._cond:
            return dataclasses.replace(self._stats)

    def reset_stats(self) -> None:
        """Zero the counters."""
        with self._cond:
            self._stats = BatchStats()

    def _lead(self, mine: _Request) -> None:
        """Run batches until ``mine`` is answered, then let a waiting caller lead."""
        batch: list[_Request] = []
        try:
            while not mine.done:
                batch = self._collect()
                self._finish(batch, self._compute(batch))
                batch = []
        finally:  # also on KeyboardInterrupt & co: nobody is left waiting for a leader
            with self._cond:
                if mine in self._queue:
                    self._queue.remove(mine)
                self._queue.extendleft(reversed([r for r in batch if not r.done and r is not mine]))
                self._busy = False
                self._cond.notify_all()

    def _collect(self) -> list[_Request]:
        """Wait until the oldest chunk's window has passed or no other chunk could join, then take a batch."""
        with self._cond:
            most = max(1, int(limits.W2V_MAX_BATCH))
            deadline = self._queue[0].arrived + limits.W2V_BATCH_WINDOW_S
            while not self._full(most) and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            return [self._queue.popleft() for _ in range(self._fits(most)[0])]

    def _fits(self, most: int) -> tuple[int, int]:
        """``(count, longest)`` of the next batch: the oldest chunks, in order, while they number at
        most ``most`` and their padded size (count x longest, samples) stays within
        ``W2V_MAX_BATCH_SAMPLES``; at least one."""
        count, longest = 1, self._queue[0].chunk.shape[-1]
        while count < min(most, len(self._queue)):
            grown = max(longest, self._queue[count].chunk.shape[-1])
            if grown * (count + 1) > limits.W2V_MAX_BATCH_SAMPLES:
                break
            count, longest = count + 1, grown
        return count, longest

    def _full(self, most: int) -> bool:
        """Whether no chunk arriving now could join the next batch."""
        count, longest = self._fits(most)
        return count >= most or count < len(self._queue) or (count + 1) * longest > limits.W2V_MAX_BATCH_SAMPLES

    def _compute(self, batch: list[_Request]) -> list[tuple[torch.Tensor | None, Exception | None]]:
        """``(logits, None)`` or ``(None, error)`` per request (never raises an ``Exception``)."""
        model = self._model()
        if model is None:  # cannot happen while a caller holds the model; be explicit anyway
            return [(None, RuntimeError("the model of this batcher was freed"))] * len(batch)
        chunks = [r.chunk for r in batch]
        if len(chunks) == 1:
            return [_single(model, chunks[0])]
        try:
            return [(out, None) for out in forward_batch(model, chunks)]
        except Exception:  # noqa: BLE001 - each chunk gets its own outcome below
            pass  # rerun outside the handler: its traceback holds the failed batch's tensors
        with self._cond:
            self._stats.reruns += 1
        return [_single(model, c) for c in chunks]

    def _finish(self, batch: list[_Request], outcomes: list[tuple[torch.Tensor | None, Exception | None]]) -> None:
        with self._cond:
            for request, (result, error) in zip(batch, outcomes, strict=True):
                request.result, request.error, request.done = result, error, True
            self._record(len(batch))
            self._cond.notify_all()

    def _record(self, size: int) -> None:
        """Count a forward pass of ``size`` chunks (the lock held)."""
        self._stats.batches += 1
        self._stats.items += size
        self._stats.largest = max(self._stats.largest, size)


def _single(model: W2VModel, chunk: torch.Tensor) -> tuple[torch.Tensor | None, Exception | None]:
    """``model.model(chunk)[0]`` alone, as ``(logits, None)`` or ``(None, error)``."""
    try:
        with torch.no_grad():
            return model.model(chunk)[0], None
    except Exception as err:  # noqa: BLE001 - handed to the caller that owns this chunk
        return None, err


def _batchable(model: W2VModel) -> bool:
    """Whether the model is a torchaudio ``Wav2Vec2Model`` whose attention honours the padding mask."""
    try:
        layers = model.model.encoder.transformer.layers
        return hasattr(model.model, "feature_extractor") and all(type(la.attention) is SelfAttention for la in layers)
    except AttributeError:
        return False


def _time_local(extractor: torch.nn.Module) -> bool:
    """Whether each extractor frame depends only on its receptive field (no ``GroupNorm`` over
    time), so chunks padded at the end keep their frames."""
    return not any(isinstance(layer.layer_norm, torch.nn.GroupNorm) for layer in extractor.conv_layers)


def features(extractor: torch.nn.Module, chunks: list[torch.Tensor]) -> list[torch.Tensor]:
    """The extractor's ``(frames, dim)`` output of each ``(1, time)`` chunk, as if run alone."""
    if _time_local(extractor):
        groups = [list(range(len(chunks)))]
    else:
        by_length: dict[int, list[int]] = {}
        for i, chunk in enumerate(chunks):
            by_length.setdefault(chunk.shape[-1], []).append(i)
        groups = list(by_length.values())
    out: list[torch.Tensor] = [torch.empty(0)] * len(chunks)
    for group in groups:
        sizes = [chunks[i].shape[-1] for i in group]
        pad = torch.nn.functional.pad
        x = torch.cat([pad(chunks[i], (0, max(sizes) - n)) for i, n in zip(group, sizes, strict=True)])
        feats, frames = extractor(x, torch.tensor(sizes))  # lengths on the CPU: frame counts without a sync
        for row, (i, n) in enumerate(zip(group, frames.tolist(), strict=True)):
            out[i] = feats[row, :n]
    return out


def forward_batch(model: W2VModel, chunks: list[torch.Tensor]) -> list[torch.Tensor]:
    """``[model.model(c)[0] for c in chunks]`` (``(1, time)`` chunks -> ``(1, frames, tokens)``
    logits) as one encoder pass over zero-padded features with their ``lengths``."""
    net = model.model
    with torch.no_grad():
        feats = features(net.feature_extractor, chunks)
        frames = [f.shape[0] for f in feats]
        if min(frames) < 1:
            raise ValueError("a chunk is shorter than the model's receptive field")
        padded = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)  # (batch, frames, dim)
        lengths = None if len(set(frames)) == 1 else torch.tensor(frames, device=padded.device)
        x = net.encoder(padded, lengths)
        if net.aux is not None:
            x = net.aux(x)
    return [x[i : i + 1, :n].contiguous() for i, n in enumerate(frames)]


# --- one batcher per loaded model -------------------------------------------------------------

_BATCHERS: weakref.WeakKeyDictionary[W2VModel, MicroBatcher] = weakref.WeakKeyDictionary()
_BATCHERS_LOCK = threading.Lock()


def for_model(model: W2VModel) -> MicroBatcher:
    """The batcher of this model instance (the CPU and CUDA copies of a model have their own),
    made on first use and dropped with the model."""
    with _BATCHERS_LOCK:
        batcher = _BATCHERS.get(model)
        if batcher is None:
            batcher = _BATCHERS[model] = MicroBatcher(model)
        return batcher


def _forget_after_fork() -> None:
    """A forked child (ZeroGPU runs requests in one) may inherit a lock held by a parent thread."""
    global _BATCHERS, _BATCHERS_LOCK
    _BATCHERS, _BATCHERS_LOCK = weakref.WeakKeyDictionary(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
