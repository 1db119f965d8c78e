"""THE shared cache of models and parameterized transforms.

Entries are keyed by ``(kind, name, params, device)``. Each is built once (two concurrent
first requests build it once), moved to its device once, put in eval mode with gradients
off, and reused by every request. The cache is bounded by a byte budget per device type
with least-recently-used eviction, and can describe its contents for the UI and the API.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import torch

from audiolab.core import limits

_default_device = "cpu"


def resolve_device(choice: str = "auto") -> str:
    """Map ``"auto" | "cpu" | "cuda"`` to a torch device string available here."""
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for, but no CUDA GPU is available.")
    if choice != "cpu" and not choice.startswith("cuda"):
        raise ValueError(f"Invalid device {choice!r}. Please choose from one of: auto, cpu, cuda.")
    return choice


def set_default_device(choice: str) -> str:
    """Set the device new entries go to (``--device`` flag); returns the resolved device."""
    global _default_device
    _default_device = resolve_device(choice)
    return _default_device


_request_device: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_device", default=None)


def default_device() -> str:
    """The device for new work: the request's override (:func:`use_device`), else the one chosen at start."""
    return _request_device.get() or _default_device


@contextlib.contextmanager
def use_device(device: str):
    """Run the enclosed work (this thread/context only) on ``device``, e.g. CPU after a CUDA OOM."""
    token = _request_device.set(device)
    try:
        yield device
    finally:
        _request_device.reset(token)


def device_of(module: torch.nn.Module) -> torch.device:
    """The device a module's parameters (else buffers) live on; CPU for a module with neither."""
    tensor = next(iter(module.parameters()), None)
    if tensor is None:
        tensor = next(iter(module.buffers()), torch.empty(0))
    return tensor.device


def nbytes(obj: Any) -> int:
    """Bytes held by a module's parameters and buffers, or by a tensor."""
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, torch.nn.Module):
        tensors = list(obj.parameters()) + list(obj.buffers())
        return sum(t.numel() * t.element_size() for t in tensors)
    return 0


def _prepare(obj: Any, device: str) -> Any:
    """Move to ``device``, eval mode, no gradients: what every cached entry gets once."""
    if isinstance(obj, torch.nn.Module):
        obj = obj.to(device).eval()
        for p in obj.parameters():
            p.requires_grad_(False)
    elif isinstance(obj, torch.Tensor):
        obj = obj.to(device)
    return obj


@dataclass
class Entry:
    """One cached object and what the status panel shows about it."""

    key: tuple
    value: Any
    nbytes: int
    device: str
    load_seconds: float
    hits: int = 0
    last_used: float = field(default_factory=time.monotonic)


class ResourceCache:
    """Thread-safe, byte-bounded LRU cache of models and transforms."""

    def __init__(self, budget_cpu: int, budget_gpu: int) -> None:
        self._budgets = {"cpu": budget_cpu, "cuda": budget_gpu}
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self.builds = 0

    def get(
        self,
        kind: str,
        name: str,
        params: Hashable,
        build: Callable[[], Any],
        device: str | None = None,
    ) -> Any:
        """Return the entry for the key, building it with ``build()`` on first use."""
        device = device or default_device()
        key = (kind, name, params, device)
        hit = self._lookup(key)
        if hit is not None:
            return hit
        with self._key_lock(key):
            hit = self._lookup(key)  # another thread may have built it meanwhile
            if hit is not None:
                return hit
            start = time.perf_counter()
            value = _prepare(build(), device)
            entry = Entry(key, value, nbytes(value), device, time.perf_counter() - start)
            with self._lock:
                self.builds += 1
                self._entries[key] = entry
                self._evict(device_type=device.split(":")[0], keep=key)
            return value

    def _lookup(self, key: tuple) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            entry.hits += 1
            entry.last_used = time.monotonic()
            self._entries.move_to_end(key)
            return entry.value

    def _key_lock(self, key: tuple) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def _evict(self, device_type: str, keep: tuple) -> None:
        """Drop least-recently-used entries of a device type until under its budget."""
        budget = self._budgets.get(device_type, self._budgets["cpu"])
        same = [e for e in self._entries.values() if e.device.split(":")[0] == device_type]
        used = sum(e.nbytes for e in same)
        evicted = False
        for entry in same:  # oldest first
            if used <= budget:
                break
            if entry.key == keep:
                continue
            del self._entries[entry.key]
            self._key_locks.pop(entry.key, None)
            used -= entry.nbytes
            evicted = True
        if evicted and device_type == "cuda" and torch.cuda.is_available():
            torch.cuda.empty_cache()  # hand the freed blocks back (other processes, nvidia-smi)

    def clear(self) -> None:
        """Forget every entry (tests, or a user pressing "free memory")."""
        with self._lock:
            self._entries.clear()
            self._key_locks.clear()

    def set_budget(self, device_type: str, budget: int) -> None:
        """Change a device type's byte budget (evicts at the next insertion)."""
        with self._lock:
            self._budgets[device_type] = budget

    def snapshot(self) -> list[dict]:
        """Rows describing the entries, most recently used last."""
        with self._lock:
            return [
                {
                    "kind": e.key[0],
                    "name": e.key[1],
                    "params": repr(e.key[2]),
                    "device": e.device,
                    "megabytes": round(e.nbytes / 2**20, 3),
                    "load_seconds": round(e.load_seconds, 3),
                    "hits": e.hits,
                }
                for e in self._entries.values()
            ]

    def usage(self) -> dict[str, dict]:
        """Per device type: entries, megabytes held and the budget in megabytes."""
        with self._lock:
            out = {t: {"entries": 0, "megabytes": 0.0, "budget_megabytes": round(b / 2**20, 1)}
                   for t, b in self._budgets.items()}  # fmt: skip
            for e in self._entries.values():
                row = out.setdefault(e.device.split(":")[0], {"entries": 0, "megabytes": 0.0, "budget_megabytes": 0})
                row["entries"] += 1
                row["megabytes"] = round(row["megabytes"] + e.nbytes / 2**20, 3)
            return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


CACHE = ResourceCache(limits.CACHE_BUDGET_CPU_BYTES, limits.CACHE_BUDGET_GPU_BYTES)


def transform(name: str, params: Hashable, build: Callable[[], Any], device: str | None = None):
    """Fetch a parameterized transform (``kind="transform"``) from the shared cache."""
    return CACHE.get("transform", name, params, build, device)


def model(name: str, params: Hashable, build: Callable[[], Any], device: str | None = None):
    """Fetch a model (``kind="model"``) from the shared cache."""
    return CACHE.get("model", name, params, build, device)
