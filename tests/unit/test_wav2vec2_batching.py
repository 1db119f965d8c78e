"""Micro-batched wav2vec2 forward passes: batched logits against one pass per chunk, concurrent
callers, per-chunk errors (out-of-memory included) and unchanged emissions."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
import torch

from audiolab.core import limits
from audiolab.wav2vec2 import batching
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import models as w2v_models
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

pytestmark = pytest.mark.usefixtures("fresh_wav2vec2_cache", "batching_on_every_device")


@pytest.fixture
def batching_on_every_device(monkeypatch):
    """The app batches on GPUs only (``W2V_BATCH_DEVICES``); these tests batch on the CPU too."""
    monkeypatch.setattr(limits, "W2V_BATCH_DEVICES", ("cpu", "cuda"))


EXTRACTORS = {  # group_norm: the base models (not padding-safe); layer_norm: the large ones
    "group_norm": {"mode": "group_norm"},
    "layer_norm": {"mode": "layer_norm", "layer_norm_first": True},
}
LENGTHS = (16_000, 12_345, 16_000, 9_001)  # two of equal length: their extractor runs batched


def tiny_model(kind: str, device: str = "cpu", seed: int = 1) -> w2v_models.W2VModel:
    net = tiny.build(seed, **EXTRACTORS[kind]).to(device)
    return w2v_models.W2VModel(net, name=f"tiny-{kind}", labels=tiny.LABELS)


def chunks(device: str = "cpu", lengths=LENGTHS) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [(0.3 * torch.randn(1, n, generator=gen)).to(device) for n in lengths]


def one_pass(model: w2v_models.W2VModel, chunk: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.model(chunk)[0]


def assert_same_logits(got: torch.Tensor, ref: torch.Tensor, device: str = "cpu") -> None:
    assert got.shape == ref.shape and got.device == ref.device
    scale = 1e-5 if device == "cpu" else 3e-4  # relative to the logits' size; TF32 on CUDA
    torch.testing.assert_close(got, ref, atol=scale * ref.abs().max().item(), rtol=0)


def call_together(batcher: batching.MicroBatcher, items: list[torch.Tensor]) -> list:
    """Each item from its own thread, all released at once: logits or the exception raised."""
    results: list = [None] * len(items)
    start = threading.Barrier(len(items))

    def work(i: int) -> None:
        start.wait()
        try:
            results[i] = batcher.logits(items[i])
        except Exception as err:  # noqa: BLE001 - the test inspects it
            results[i] = err

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a caller is still waiting"
    return results


@pytest.fixture
def one_batch(monkeypatch):
    """A long window that ends as soon as ``n`` chunks wait: exactly one batch of ``n``."""

    def set_size(n: int) -> None:
        monkeypatch.setattr(limits, "W2V_BATCH_WINDOW_S", 10.0)
        monkeypatch.setattr(limits, "W2V_MAX_BATCH", n)

    return set_size


@pytest.mark.parametrize("kind", EXTRACTORS)
def test_batched_logits_of_chunks_of_different_lengths_equal_one_pass_of_each(kind, device):
    model = tiny_model(kind, device)
    items = chunks(device)
    for got, chunk in zip(batching.forward_batch(model, items), items, strict=True):
        assert_same_logits(got, one_pass(model, chunk), device)


def test_padding_the_audio_itself_would_change_a_group_norm_model_s_frames():
    # why the extractor runs per chunk: torchaudio's own batching (audio padded, with lengths)
    # normalises the shorter chunk over the padding too
    model = tiny_model("group_norm")
    short, long_ = chunks(lengths=(9_001, 16_000))
    padded = torch.cat([torch.nn.functional.pad(short, (0, 16_000 - 9_001)), long_])
    with torch.no_grad():
        naive, _ = model.model(padded, torch.tensor([9_001, 16_000]))
    ref = one_pass(model, short)
    assert (naive[:1, : ref.shape[1]] - ref).abs().max() > 0.1


@pytest.mark.parametrize("kind", EXTRACTORS)
def test_concurrent_callers_share_one_batch_and_each_gets_its_own_logits(kind, device, one_batch):
    model = tiny_model(kind, device)
    items = chunks(device)
    one_batch(len(items))
    batcher = batching.for_model(model)
    results = call_together(batcher, items)
    for got, chunk in zip(results, items, strict=True):
        assert_same_logits(got, one_pass(model, chunk), device)
    stats = batcher.stats()
    assert (stats.batches, stats.items, stats.largest, stats.reruns) == (1, 4, 4, 0)


def test_batches_stay_within_the_padded_sample_bound(monkeypatch, one_batch):
    model = tiny_model("group_norm")
    items = chunks(lengths=(16_000,) * 4)
    one_batch(4)
    monkeypatch.setattr(limits, "W2V_MAX_BATCH_SAMPLES", 2 * 16_000)
    batcher = batching.for_model(model)
    results = call_together(batcher, items)
    for got, chunk in zip(results, items, strict=True):
        assert_same_logits(got, one_pass(model, chunk))
    assert batcher.stats().largest == 2 and batcher.stats().batches == 2


def test_a_lone_chunk_runs_alone_and_without_batching_nothing_waits(monkeypatch):
    model = tiny_model("group_norm")
    (chunk,) = chunks(lengths=(16_000,))
    batcher = batching.for_model(model)
    torch.testing.assert_close(batcher.logits(chunk), one_pass(model, chunk), atol=0, rtol=0)
    monkeypatch.setattr(limits, "W2V_BATCH_WINDOW_S", 60.0)
    monkeypatch.setattr(limits, "W2V_MAX_BATCH", 1)  # the switch off: no window either
    results = call_together(batcher, chunks(lengths=(16_000, 12_000)))
    assert all(isinstance(r, torch.Tensor) for r in results)
    assert batcher.stats().largest == 1 and batcher.stats().batches == 3


@pytest.mark.parametrize("kind", EXTRACTORS)
def test_a_chunk_that_fails_does_not_fail_the_others_in_its_batch(kind, one_batch):
    model = tiny_model(kind)
    items = chunks(lengths=(16_000, 200, 12_345))  # 200 samples: shorter than the receptive field
    with pytest.raises(RuntimeError) as alone:
        one_pass(model, items[1])
    one_batch(3)
    batcher = batching.for_model(model)
    good, bad, other = call_together(batcher, items)
    assert_same_logits(good, one_pass(model, items[0]))
    assert_same_logits(other, one_pass(model, items[2]))
    assert type(bad) is type(alone.value) and str(bad) == str(alone.value)
    assert batcher.stats().reruns == 1


def test_many_callers_over_many_rounds_each_get_their_own_logits():
    model = tiny_model("layer_norm")
    lengths = [400 + 997 * i for i in range(24)]  # 25 ms to 1.5 s
    items = chunks(lengths=lengths)
    refs = [one_pass(model, c) for c in items]
    batcher = batching.for_model(model)
    results: list = [None] * len(items)

    def work(first: int) -> None:
        for i in range(first, len(items), 6):
            results[i] = batcher.logits(items[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for got, ref in zip(results, refs, strict=True):
        assert_same_logits(got, ref)
    assert batcher.stats().items == len(items) and batcher.stats().largest > 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the thread that dies
def test_when_a_leading_caller_s_thread_dies_the_others_still_get_their_logits(monkeypatch):
    model = tiny_model("group_norm")
    encoder_forward, calls = model.model.encoder.forward, []

    def dies_once(features, lengths=None):
        calls.append(features.shape[0])
        if len(calls) == 1:
            raise SystemExit  # not an Exception: ends the thread running the batch
        return encoder_forward(features, lengths)

    monkeypatch.setattr(model.model.encoder, "forward", dies_once)
    monkeypatch.setattr(limits, "W2V_BATCH_WINDOW_S", 0.2)
    items = chunks(lengths=(16_000, 12_345, 9_001))
    results = call_together(batching.for_model(model), items)
    assert sum(r is None for r in results) == 1  # the caller whose thread ran the batch
    for got, chunk in zip(results, items, strict=True):
        if got is not None:
            assert_same_logits(got, one_pass(model, chunk))


def simulated_oom(*_args, **_kwargs):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (simulated)")


def test_out_of_memory_reaches_every_caller_as_out_of_memory(monkeypatch, one_batch):
    model = tiny_model("group_norm")
    monkeypatch.setattr(model.model.encoder, "forward", simulated_oom)
    items = chunks()
    one_batch(len(items))
    batcher = batching.for_model(model)
    results = call_together(batcher, items)
    assert all(type(r) is torch.OutOfMemoryError for r in results)
    assert batcher.stats().reruns == 1  # the batch, then each chunk alone: each ran out of memory
    monkeypatch.setattr(limits, "W2V_BATCH_WINDOW_S", 0.005)
    with pytest.raises(torch.OutOfMemoryError):
        batcher.logits(items[0])


@pytest.mark.parametrize("most", [8, 1])
def test_after_out_of_memory_the_failed_pass_s_tensors_are_freed_without_the_garbage_collector(most, monkeypatch):
    # the UI empties the CUDA cache before it reruns the request on the CPU: no reference cycle
    # (frame -> exception -> traceback -> frame) may keep the failed pass's tensors alive
    model = tiny_model("group_norm")
    monkeypatch.setattr(limits, "W2V_MAX_BATCH", most)
    scratch: list[weakref.ref] = []

    def oom_after_allocating(*_args, **_kwargs):
        held = torch.ones(1000)
        scratch.append(weakref.ref(held))
        simulated_oom()

    monkeypatch.setattr(model.model.encoder, "forward", oom_after_allocating)
    gc.disable()
    try:
        with pytest.raises(torch.OutOfMemoryError):
            batching.for_model(model).logits(chunks(lengths=(16_000,))[0])
        assert len(scratch) == 1 and scratch[0]() is None
    finally:
        gc.enable()


def test_a_batch_that_runs_out_of_memory_is_rerun_chunk_by_chunk(monkeypatch, one_batch):
    model = tiny_model("group_norm")
    encoder_forward = model.model.encoder.forward

    def oom_when_batched(features, lengths=None):
        if features.shape[0] > 1:
            simulated_oom()
        return encoder_forward(features, lengths)

    monkeypatch.setattr(model.model.encoder, "forward", oom_when_batched)
    items = chunks()
    one_batch(len(items))
    batcher = batching.for_model(model)
    for got, chunk in zip(call_together(batcher, items), items, strict=True):
        assert_same_logits(got, one_pass(model, chunk))
    assert batcher.stats().reruns == 1


def test_each_model_instance_has_its_own_batcher_which_goes_with_it():
    cpu_copy, other = tiny_model("group_norm"), tiny_model("group_norm")
    assert batching.for_model(cpu_copy) is batching.for_model(cpu_copy)
    assert batching.for_model(cpu_copy) is not batching.for_model(other)
    gone = weakref.ref(batching.for_model(other))
    del other
    gc.collect()
    assert gone() is None


def test_concurrent_emissions_are_batched_and_equal_torchaudio_log_softmax(tiny_en, device, one_batch):
    clips = [signals.chirp(seconds=2.0), signals.white_noise(seconds=1.5, seed=4), signals.chirp(300, 900, seconds=2.5)]
    one_batch(len(clips))
    results: list = [None] * len(clips)
    start = threading.Barrier(len(clips))

    def work(i: int) -> None:
        start.wait()
        results[i] = w2v.emissions(clips[i], 16_000, model_name="local:tiny-en")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clips))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    atol = 1e-5 if device == "cpu" else 3e-3  # TF32 convolutions on CUDA
    for em, clip in zip(results, clips, strict=True):
        ref = tiny.reference_log_probs(tiny_en, clip, eps=1e-7)
        torch.testing.assert_close(em.log_probs, ref, atol=atol, rtol=0)
        assert em.log_probs.device.type == "cpu" and em.duration_s == clip.shape[-1] / 16_000
    stats = batching.for_model(w2v_models.load_model("local:tiny-en")).stats()
    assert stats.largest == len(clips) and stats.batches == 1


def test_on_a_device_not_in_the_batch_devices_each_call_runs_its_own_pass(monkeypatch, one_batch):
    monkeypatch.setattr(limits, "W2V_BATCH_DEVICES", ("cuda",))
    model = tiny_model("group_norm")
    batcher = batching.for_model(model)
    items = chunks()
    one_batch(len(items))  # would be one batch of all of them on a batching device
    results = call_together(batcher, items)
    for got, chunk in zip(results, items, strict=True):
        assert_same_logits(got, one_pass(model, chunk))
    assert batcher.stats().largest == 1 and batcher.stats().batches == len(items)
