"""TorchAudio Lab: entry point. ``python app.py --help`` lists the flags.

Importing this module builds ``demo`` without launching it (tests import it).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os

try:  # Hugging Face ZeroGPU Spaces want `spaces` imported before anything touches CUDA
    import spaces  # noqa: F401
except ImportError:
    pass

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Our figures use matplotlib's object API; naming the backend keeps Gradio's per-request backend
# check from importing pyplot (0.6 s) inside the first request.
os.environ.setdefault("MPLBACKEND", "Agg")

import gradio as gr
from starlette.middleware import Middleware

from audiolab.core import cache, limits
from components import (
    activity,
    audio_tab,
    augment_tab,
    fast_start,
    features_tab,
    griffinlim_tab,
    page,
    storage,
    timeline,
    train_tab,
    warmup,
    wav2vec2_tab,
)
from components import mcp as mcp_tools
from components.batch_tab import build as build_batch_tab
from components.i18n import build_i18n, t
from components.refusals import explain as explain_refusals
from components.scheduling import share_slots

QUEUE_MAX_SIZE = 16  # heavy requests waiting beyond this get a "queue is full, try again" answer (light: never)
DELETE_CACHE = (600, 3600)  # every 10 min, delete uploads/results older than 1 h

TABS = [
    ("tab_audio", audio_tab.build),
    ("tab_features", features_tab.build),
    ("tab_augment", augment_tab.build),
    ("tab_griffinlim", griffinlim_tab.build),
    ("tab_wav2vec2", wav2vec2_tab.build),
    ("tab_train", train_tab.build),
    ("tab_batch", build_batch_tab),
]


def build_demo() -> gr.Blocks:
    """The whole app: one ``gr.Blocks`` with a tab per feature area."""
    fast_start.install()  # per-class config parts computed once (start-up)
    return fast_start.build_without_spare_apps(_build_blocks)


def _build_blocks() -> gr.Blocks:
    """The tabs, the request scheduling and the refusal messages."""
    shared: dict = {}
    with gr.Blocks(title="TorchAudio Lab", delete_cache=DELETE_CACHE, analytics_enabled=False) as demo:
        gr.Markdown("# TorchAudio Lab")
        gr.Markdown(t("app_intro"))
        with gr.Tabs():
            for key, build in TABS:
                with gr.Tab(t(key), id=key):
                    build(shared)
    share_slots(demo, QUEUE_MAX_SIZE)  # one pool for heavy work, sized to the machine; light work unqueued
    explain_refusals(demo)  # inputs Gradio refuses get a message, not {"error": null}
    return demo


def _app_kwargs() -> dict:
    """FastAPI settings: the storage guard and sweep, and the request activity the warm-up waits on."""
    kwargs = storage.app_kwargs()
    kwargs["middleware"] = [*kwargs["middleware"], Middleware(activity.RequestActivity)]
    return kwargs


def launch_kwargs() -> dict:
    """Hardened ``launch()`` settings shared by ``main`` and the tests."""
    return {
        "max_file_size": f"{limits.MAX_FILE_BYTES // 2**20}mb",
        "enable_monitoring": False,
        "show_error": False,
        "i18n": build_i18n(),
        "ssr_mode": False,
        "app_kwargs": _app_kwargs(),  # disk budget on uploads, start-up sweep, request activity for the warm-up
        "mcp_server": mcp_tools.install(),  # every named endpoint an MCP tool at /gradio_api/mcp/ (README)
        "head": timeline.head_html(),  # the timeline's browser module and styles, once per page
        **page.launch_kwargs(),  # fonts with every glyph; tab arrow keys, rounded skip labels, slider range notes
    }


gc.freeze()  # the imported modules live as long as the app: later full collections skip them
demo = build_demo()


def after_launch() -> None:
    """Once the server is up: warm in the background what every first request needs."""
    warmup.start()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags."""
    parser = argparse.ArgumentParser(description="TorchAudio Lab web app")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="create a public gradio.live link")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse flags, pick the device, launch the server (blocks)."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    device = cache.set_default_device(args.device)
    wav2vec2_tab.on_start()
    logging.getLogger("audiolab").info("TorchAudio Lab on %s", device)
    demo.launch(
        server_name=args.host, server_port=args.port, share=args.share, prevent_thread_lock=True, **launch_kwargs()
    )
    after_launch()
    demo.block_thread()


if __name__ == "__main__":
    main()
