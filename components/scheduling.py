"""Who waits for whom: one bounded pool for heavy work across the whole app, nothing for light work.

Gradio's concurrency limit is per event unless events share a ``concurrency_id``; with a limit of 2
on each of a dozen events, 10 heavy requests on 5 tabs ran 8 at once on 2 cores. Here every heavy
event joins one group (:data:`HEAVY`, :func:`heavy_slots` at once, sized to the machine) and queues
there, where Gradio shows each waiting user their place. Light events (metadata, parameter lists,
the model list, cache status, UI glue) skip the queue (``queue=False``: the browser calls them
directly) and, when a program sends them through the queue anyway (``gradio_client`` always does),
they run at once in a group of their own. The queue's size bounds only the heavy requests waiting,
so light requests are never refused because heavy ones filled it.
"""

from __future__ import annotations

import os

import gradio as gr
import torch
from gradio import route_utils

from audiolab.core import cache, limits

HEAVY = "heavy"
LIGHT = "light"
LIGHT_ENDPOINTS = frozenset({"info", "feature_params", "augment_schema", "list_models", "cache_status"})  # API names
LIGHT_HANDLERS = frozenset({"add_step", "remove_last"})  # checked handlers that only edit a chain's text
HEAVY_GLUE = frozenset({"analyse_if_any"})  # plain functions that call a checked handler


def heavy_slots() -> int:
    """Heavy requests processed at once: one per CPU core, or ``limits.HEAVY_SLOTS_PER_GPU`` per GPU
    where the app runs on CUDA (more requests in flight keep the wav2vec2 micro-batcher fed)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if cache.resolve_device("auto").startswith("cuda"):
        return max(cpus, limits.HEAVY_SLOTS_PER_GPU * torch.cuda.device_count())
    return max(1, cpus)


def is_heavy(fn) -> bool:
    """Heavy: a checked handler (wrapped by ``user_errors``/``streamed``: it decodes, computes, writes
    results) that is not one of the light ones; plain functions are UI glue, and light."""
    if fn.api_name in LIGHT_ENDPOINTS:
        return False
    name = getattr(fn.fn, "__name__", "")
    return name in HEAVY_GLUE or (hasattr(fn.fn, "__wrapped__") and name not in LIGHT_HANDLERS)


def share_slots(demo: gr.Blocks, max_waiting: int) -> None:
    """Put every event of ``demo`` in the heavy or the light group and enable the queue:
    at most :func:`heavy_slots` heavy requests run at once and ``max_waiting`` wait."""
    slots = heavy_slots()
    for fn in demo.fns.values():
        if is_heavy(fn):
            fn.concurrency_id, fn.concurrency_limit = HEAVY, slots
        else:
            fn.concurrency_id, fn.concurrency_limit, fn.queue = LIGHT, None, False
    demo.queue(max_size=None, default_concurrency_limit=slots)
    _bound_heavy_waiting(demo, max_waiting)


def _bound_heavy_waiting(demo: gr.Blocks, max_waiting: int) -> None:
    """Refuse a heavy request (Gradio's "queue full" answer) while ``max_waiting`` heavy ones wait;
    Gradio's own ``max_size`` would count light requests too, and refuse them."""
    queue = demo._queue
    gradio_push = queue.push

    async def push(body, request, username):
        fn = route_utils.get_fn(demo, None, body) if body.fn_index is not None else None
        waiting = queue.event_queue_per_concurrency_id.get(HEAVY)
        if fn is not None and fn.concurrency_id == HEAVY and waiting is not None and len(waiting.queue) >= max_waiting:
            return (
                False,
                f"Queue is full: {len(waiting.queue)} requests are waiting. Please try again soon.",
                "queue_full",
            )
        return await gradio_push(body, request, username)

    queue.push = push
