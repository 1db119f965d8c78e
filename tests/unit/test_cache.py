"""The shared model/transform cache: built once under concurrency, LRU eviction at the byte
budget, entries moved to the device in eval mode without gradients, visible status."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from audiolab.core import cache
from audiolab.core.cache import ResourceCache


def tensor_of(nbytes: int) -> torch.Tensor:
    return torch.zeros(nbytes // 4, dtype=torch.float32)


def test_concurrent_first_requests_build_an_entry_once():
    c = ResourceCache(budget_cpu=2**30, budget_gpu=2**30)
    calls, start = [], threading.Barrier(8)

    def build():
        calls.append(1)
        time.sleep(0.2)  # a slow load: the other threads arrive meanwhile
        return torch.nn.Linear(4, 4)

    results = [None] * 8

    def request(i):
        start.wait()
        results[i] = c.get("model", "slow", (), build, device="cpu")

    threads = [threading.Thread(target=request, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and c.builds == 1
    assert all(r is results[0] for r in results)
    assert c.snapshot()[0]["hits"] == 7


def test_different_keys_build_in_parallel():
    c = ResourceCache(budget_cpu=2**30, budget_gpu=2**30)

    def build():
        time.sleep(0.3)
        return torch.zeros(1)

    began = time.perf_counter()
    threads = [threading.Thread(target=c.get, args=("t", f"n{i}", (), build, "cpu")) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert time.perf_counter() - began < 0.9 and len(c) == 4  # 4 x 0.3 s if they were serialised


def test_the_least_recently_used_entry_is_evicted_at_the_budget():
    c = ResourceCache(budget_cpu=100, budget_gpu=100)
    a = c.get("t", "a", (), lambda: tensor_of(40), "cpu")
    c.get("t", "b", (), lambda: tensor_of(40), "cpu")
    assert c.get("t", "a", (), lambda: tensor_of(40), "cpu") is a  # a is now the most recent
    c.get("t", "c", (), lambda: tensor_of(40), "cpu")  # 120 bytes > 100: drop b, the oldest
    assert [row["name"] for row in c.snapshot()] == ["a", "c"]
    assert c.usage()["cpu"]["megabytes"] == pytest.approx(80 / 2**20, abs=1e-3)


def test_an_entry_larger_than_the_budget_stays_alone():
    c = ResourceCache(budget_cpu=100, budget_gpu=100)
    c.get("t", "small", (), lambda: tensor_of(40), "cpu")
    big = c.get("t", "big", (), lambda: tensor_of(400), "cpu")
    assert [row["name"] for row in c.snapshot()] == ["big"]
    assert c.get("t", "big", (), lambda: tensor_of(400), "cpu") is big


def test_a_failed_build_is_not_cached_and_can_be_retried():
    c = ResourceCache(budget_cpu=2**30, budget_gpu=2**30)

    def fail():
        raise OSError("no weights")

    with pytest.raises(OSError, match="no weights"):
        c.get("model", "m", (), fail, "cpu")
    assert len(c) == 0
    assert c.get("model", "m", (), lambda: torch.ones(2), "cpu").sum() == 2


def test_entries_are_moved_to_the_device_in_eval_mode_without_gradients(device):
    module = cache.model("test-linear", (device,), lambda: torch.nn.Sequential(torch.nn.Dropout(0.5)).train())
    weights = cache.model("test-weights", (device,), lambda: torch.nn.Linear(3, 2))
    assert not module.training and not weights.training
    assert all(p.device.type == device and not p.requires_grad for p in weights.parameters())
    row = next(r for r in cache.CACHE.snapshot() if r["name"] == "test-weights")
    assert row["device"] == device and row["megabytes"] == pytest.approx(8 * 4 / 2**20, abs=1e-3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_auto_picks_cuda_when_present_and_models_live_there():
    assert cache.resolve_device("auto") == "cuda"
    c = ResourceCache(budget_cpu=2**30, budget_gpu=2**30)
    m = c.get("model", "lin", (), lambda: torch.nn.Linear(8, 8), device="cuda")
    assert next(m.parameters()).is_cuda and c.usage()["cuda"]["entries"] == 1


def test_auto_falls_back_to_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cache.resolve_device("auto") == "cpu"
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        cache.resolve_device("cuda")


def test_usage_reports_entries_and_budgets_per_device_type():
    c = ResourceCache(budget_cpu=3 * 2**20, budget_gpu=5 * 2**20)
    c.get("t", "x", (), lambda: tensor_of(2**20), "cpu")
    usage = c.usage()
    assert usage["cpu"] == {"entries": 1, "megabytes": 1.0, "budget_megabytes": 3.0}
    assert usage["cuda"] == {"entries": 0, "megabytes": 0.0, "budget_megabytes": 5.0}
    c.clear()
    assert c.usage()["cpu"]["entries"] == 0 and c.snapshot() == []
