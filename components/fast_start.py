"""Start-up shortcuts in Gradio for this app's ~1,000 blocks, each tested to give what Gradio's
own path gives (``tests/unit/test_fast_start.py``). Installed before the UI is built (``app.py``).

- Gradio builds each block's config from ``inspect.signature(cls.__init__)``, once per block and
  twice per launch; a class's ``__init__`` signature never changes, so ``gradio.blocks`` gets a
  memoising ``signature`` (every other ``inspect`` name is the module's own).
- A block's ``component_class_id`` (a hash of its class's name and source file) and a component's
  API schema (``data_model.model_json_schema()``, pydantic) depend on the class only: computed
  once per class, not once per block per config.
- While the UI is built, ``gr.Blocks()``, ``with ... :`` and ``.queue()`` each build a complete
  FastAPI app and config that ``launch()`` throws away and builds again:
  :func:`build_without_spare_apps` skips those, and builds the config once at the end.
- Each new session (a page load, an API client, every MCP tool call) built the config of all
  ~1,000 blocks (0.1 s) for deep links, which this app does not offer; :class:`LazySessionState`
  builds a block's config when something first asks for it.
- Every request enters Gradio's matplotlib backend guard, which imports matplotlib (0.1 s in
  the first request). Until something has imported matplotlib, no backend can need guarding:
  :class:`MatplotlibGuard` skips it until then.
"""

from __future__ import annotations

import copy
import functools
import inspect
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from gradio import blocks as gradio_blocks
from gradio import routes as gradio_routes
from gradio import state_holder as gradio_state_holder
from gradio import utils as gradio_utils
from gradio.components import base as gradio_base


@functools.lru_cache(maxsize=8192)
def _cached(fn: Any) -> inspect.Signature:
    return inspect.signature(fn)


def signature(fn: Any, *args: Any, **kwargs: Any) -> inspect.Signature:
    """``inspect.signature``, remembered for plain functions (bound methods and other callables are
    not cached: they would keep their objects alive)."""
    if args or kwargs or not inspect.isfunction(fn):
        return inspect.signature(fn, *args, **kwargs)
    return _cached(fn)


class _Inspect:
    """The ``inspect`` module with a memoising :func:`signature`."""

    signature = staticmethod(signature)

    def __getattr__(self, name: str) -> Any:
        return getattr(inspect, name)


_GRADIO_CLASS_ID = gradio_blocks.Block.get_component_class_id.__func__
_GRADIO_API_INFO = gradio_base.Component.api_info


@functools.cache
def component_class_id(cls: type) -> str:
    """Gradio's ``Block.get_component_class_id``, once per class."""
    return _GRADIO_CLASS_ID(cls)


@functools.cache
def _schema(data_model: type) -> dict:
    return data_model.model_json_schema()


def api_info(self: gradio_base.Component) -> dict[str, Any]:
    """Gradio's ``Component.api_info`` with the data model's JSON schema generated once per model
    (each component gets its own copy, as Gradio's callers edit it)."""
    if self._api_info_cache is None and self.data_model is not None:
        schema = copy.deepcopy(_schema(self.data_model))
        schema["additional_description"] = schema.pop("description", None)
        self._api_info_cache = schema
    return _GRADIO_API_INFO(self)


class MatplotlibGuard(gradio_utils.MatplotlibBackendMananger):
    """Gradio's guard (Agg while a handler runs), entered only once matplotlib has been imported."""

    def __enter__(self):
        self._active = "matplotlib" in sys.modules
        if self._active:
            super().__enter__()

    def __exit__(self, *exc):
        if self._active:
            super().__exit__(*exc)


class LazyConfigs(dict):
    """``SessionState.config_values``: ``{block id: config}``, each built on first use (iterating
    builds them all, in the order Gradio's eager dict has). One session's requests may run in
    several threads: a lock keeps a reader from seeing the dict while it is reordered."""

    def __init__(self, blocks_config: Any, ids: list[int]) -> None:
        super().__init__()
        self._blocks_config, self._order, self._pending = blocks_config, ids, set(ids)
        self._lock = threading.RLock()

    def _build(self, key: object) -> None:
        with self._lock:
            if key in self._pending:
                self._pending.discard(key)
                config = self._blocks_config.config_for_block(key, [], self._blocks_config.blocks[key])
                super().__setitem__(key, config)

    def _build_all(self) -> None:
        with self._lock:
            if self._pending:
                for key in list(self._pending):
                    self._build(key)
                built = dict(super().items())
                ordered = {key: built.pop(key) for key in self._order if key in built}
                super().clear()
                super().update({**ordered, **built})

    def __getitem__(self, key: int) -> dict:
        with self._lock:
            self._build(key)
            return super().__getitem__(key)

    def get(self, key: int, default: Any = None) -> Any:
        with self._lock:
            self._build(key)
            return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._pending or super().__contains__(key)

    def __setitem__(self, key: int, value: dict) -> None:
        with self._lock:
            self._pending.discard(key)
            super().__setitem__(key, value)

    def __len__(self) -> int:
        return super().__len__() + len(self._pending)

    def __iter__(self):
        self._build_all()
        return super().__iter__()

    def items(self):
        self._build_all()
        return super().items()

    def keys(self):
        self._build_all()
        return super().keys()

    def values(self):
        self._build_all()
        return super().values()


class LazySessionState(gradio_state_holder.SessionState):
    """Gradio's ``SessionState`` with :class:`LazyConfigs` for its per-block configs."""

    def __init__(self, blocks: gradio_blocks.Blocks) -> None:  # Gradio 6's, but for config_values
        self.blocks_config = copy.copy(blocks.default_config)
        ids = [key for key in self.blocks_config.blocks if key in blocks.blocks]
        self.config_values = LazyConfigs(self.blocks_config, ids)
        self.state_data: dict[int, Any] = {}
        self._state_ttl: dict = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


def install() -> None:
    """Give Gradio the shortcuts above (idempotent)."""
    for module in (gradio_state_holder, gradio_blocks, sys.modules.get("gradio.mcp")):
        if module is not None:
            module.SessionState = LazySessionState
    gradio_utils.MatplotlibBackendMananger = MatplotlibGuard
    if not isinstance(gradio_blocks.inspect, _Inspect):
        gradio_blocks.inspect = _Inspect()
    gradio_blocks.Block.get_component_class_id = classmethod(component_class_id)
    gradio_base.Component.api_info = api_info


def build_without_spare_apps(build: Callable[[], gradio_blocks.Blocks]) -> gradio_blocks.Blocks:
    """``build()``, with no FastAPI app or config made for ``gr.Blocks()``, ``__exit__`` and
    ``queue()`` on the way (``launch()`` makes its own); the built Blocks gets its config once."""
    create_app, get_config_file = gradio_routes.App.create_app, gradio_blocks.Blocks.get_config_file
    gradio_routes.App.create_app = staticmethod(lambda *args, **kwargs: None)
    gradio_blocks.Blocks.get_config_file = lambda self: None
    try:
        demo = build()
    finally:
        gradio_routes.App.create_app = create_app
        gradio_blocks.Blocks.get_config_file = get_config_file
    demo.config = demo.get_config_file()
    return demo
