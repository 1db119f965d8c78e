"""Gradio start-up shortcuts (components.fast_start): the same configs and answers as Gradio's own paths."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest
from gradio import blocks as gradio_blocks
from gradio import routes as gradio_routes
from gradio import state_holder as gradio_state_holder
from gradio.components import base as gradio_base

from components import fast_start


def test_signatures_are_remembered_per_function_and_equal_inspects():
    fast_start.install()
    fast_start.install()  # idempotent
    first = gradio_blocks.inspect.signature(gr.Audio.__init__)
    assert first is gradio_blocks.inspect.signature(gr.Audio.__init__)
    assert first == inspect.signature(gr.Audio.__init__)
    assert gradio_blocks.inspect.isfunction is inspect.isfunction  # the rest is the module's own


def test_bound_methods_are_not_kept_alive_by_the_cache():
    box = gr.Textbox()
    before = fast_start._cached.cache_info().currsize
    assert fast_start.signature(box.get_config) == inspect.signature(box.get_config)
    assert fast_start._cached.cache_info().currsize == before


def test_a_block_config_is_the_same_with_remembered_signatures():
    import app

    fast_start.install()
    block = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Audio))
    remembered = block.get_config()
    gradio_blocks.inspect = inspect
    try:
        plain = block.get_config()
    finally:
        fast_start.install()
    assert remembered == plain


def _gradio_own_config(demo: gr.Blocks) -> dict:
    """``demo``'s config computed by Gradio's own code paths (the shortcuts are put back after)."""
    gradio_blocks.inspect = inspect
    gradio_blocks.Block.get_component_class_id = classmethod(fast_start._GRADIO_CLASS_ID)
    gradio_base.Component.api_info = fast_start._GRADIO_API_INFO
    for block in demo.blocks.values():
        if hasattr(block, "_api_info_cache"):
            block._api_info_cache = None
    try:
        return demo.get_config_file()
    finally:
        fast_start.install()


def test_the_whole_app_config_equals_the_one_gradio_computes_itself():
    import app

    assert app.demo.config == _gradio_own_config(app.demo)
    assert app.demo.config == app.demo.get_config_file()  # and the shortcuts give it again


def test_the_class_id_and_api_schema_are_gradio_s_own_for_each_class():
    fast_start.install()
    for cls in (gr.Audio, gr.File, gr.DownloadButton, gr.Image, gr.Textbox):
        assert cls.get_component_class_id() == fast_start._GRADIO_CLASS_ID(cls)
    for make in (gr.File, gr.DownloadButton, lambda: gr.Audio(type="filepath")):
        a, b = make(), make()
        assert a.api_info() == fast_start._GRADIO_API_INFO(b)
        a.api_info()["edited"] = True  # Gradio's callers edit the schema: each block has its own copy
        assert "edited" not in make().api_info()


def test_no_spare_app_or_config_is_built_while_the_ui_is_built_and_gradio_is_restored_after():
    calls = []
    create_app, get_config_file = gradio_routes.App.create_app, gradio_blocks.Blocks.get_config_file

    def build() -> gr.Blocks:
        calls.append(gradio_routes.App.create_app(None))  # the stand-in answers None
        with gr.Blocks() as demo:
            box = gr.Textbox()
            box.change(lambda s: s, box, box)
        demo.queue()
        return demo

    demo = fast_start.build_without_spare_apps(build)
    assert calls == [None] and demo.app is None
    assert gradio_routes.App.create_app is create_app and gradio_blocks.Blocks.get_config_file is get_config_file
    assert demo.config == demo.get_config_file() and demo.config["dependencies"]
    with pytest.raises(RuntimeError):
        fast_start.build_without_spare_apps(lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert gradio_routes.App.create_app is create_app  # restored after a failed build too


def test_gradio_s_matplotlib_guard_waits_until_matplotlib_is_imported():
    code = (
        "import sys\n"
        "from components import fast_start\n"
        "from gradio import utils\n"
        "fast_start.install()\n"
        "with utils.MatplotlibBackendMananger():\n"
        "    before = 'matplotlib' in sys.modules\n"
        "import matplotlib\n"
        "matplotlib.use('svg')\n"
        "with utils.MatplotlibBackendMananger():\n"
        "    inside = matplotlib.get_backend()\n"
        "print(before, inside, matplotlib.get_backend())\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.split() == ["False", "agg", "svg"]


def test_a_lazy_session_state_has_gradio_s_attributes_and_configs_in_gradio_s_order():
    import app

    fast_start.install()
    eager, lazy = gradio_state_holder.SessionState.__mro__[1](app.demo), fast_start.LazySessionState(app.demo)
    assert type(eager) is not type(lazy) and set(vars(eager)) == set(vars(lazy))
    some_id = next(iter(eager.config_values))
    assert some_id in lazy.config_values and dict.__len__(lazy.config_values) == 0  # nothing built yet
    assert lazy.config_values[some_id] == eager.config_values[some_id]
    assert dict.__len__(lazy.config_values) == 1  # only what was asked for
    lazy.config_values[-5] = {"set": "later"}
    assert list(lazy.config_values.items()) == [*eager.config_values.items(), (-5, {"set": "later"})]
    assert list(lazy.components) == [c for c in [*eager.config_values.values(), {"set": "later"}] if c]


def test_gradio_makes_lazy_session_states():
    from gradio import blocks as gb

    fast_start.install()
    holder = gradio_state_holder.StateHolder()
    import app

    holder.set_blocks(app.demo)
    assert isinstance(holder["session-1"], fast_start.LazySessionState)
    assert gb.SessionState is fast_start.LazySessionState
