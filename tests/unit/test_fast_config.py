"""Gradio's block configs from remembered signatures: the same configs, computed once per class."""

from __future__ import annotations

import inspect

import gradio as gr
from gradio import blocks as gradio_blocks

from components import fast_config


def test_signatures_are_remembered_per_function_and_equal_inspects():
    fast_config.install()
    fast_config.install()  # idempotent
    first = gradio_blocks.inspect.signature(gr.Audio.__init__)
    assert first is gradio_blocks.inspect.signature(gr.Audio.__init__)
    assert first == inspect.signature(gr.Audio.__init__)
    assert gradio_blocks.inspect.isfunction is inspect.isfunction  # the rest is the module's own


def test_bound_methods_are_not_kept_alive_by_the_cache():
    box = gr.Textbox()
    before = fast_config._cached.cache_info().currsize
    assert fast_config.signature(box.get_config) == inspect.signature(box.get_config)
    assert fast_config._cached.cache_info().currsize == before


def test_a_block_config_is_the_same_with_remembered_signatures():
    import app

    fast_config.install()
    block = next(b for b in app.demo.blocks.values() if isinstance(b, gr.Audio))
    remembered = block.get_config()
    gradio_blocks.inspect = inspect
    try:
        plain = block.get_config()
    finally:
        fast_config.install()
    assert remembered == plain
