"""The app's Model Context Protocol server (``launch(mcp_server=True)``): how its tools answer.

Gradio turns every named endpoint into an MCP tool, its description and parameters taken from
the handler's docstring (``Args:`` / ``Returns:``). :func:`install` adjusts two things in
Gradio 6.31's server:

- a queued tool called without a progress token got its outputs as one tuple, so an endpoint
  with several outputs answered one Python ``repr`` (and one with a ``gr.State`` output failed);
  each output now becomes its own part of the result, as with a progress token;
- dict and list outputs (our summaries, metrics, tables) were written with Python's ``str()``
  (single quotes, ``True``/``None``), which is not JSON; they are now JSON text an agent can
  parse. Files and images are left to Gradio (URLs, and images inline).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from anyio.to_thread import run_sync
from gradio_client import utils as client_utils

log = logging.getLogger("audiolab.mcp")


def holds_file(value: Any) -> bool:
    """Whether ``value`` is, or contains, a Gradio file object (those stay for Gradio to turn into URLs)."""
    if client_utils.is_file_obj_with_meta(value):
        return True
    if isinstance(value, dict):
        return any(holds_file(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_file(v) for v in value)
    return False


def as_json_text(outputs: list) -> list:
    """Each dict/list output without files as JSON text; everything else unchanged.

    Queued tools hand over plain values; the others (``queue=False``) Gradio's own models
    (``JsonData``), which are dumped first."""
    out = []
    for value in outputs:
        plain = value.model_dump() if hasattr(value, "model_dump") else value
        is_json = isinstance(plain, dict | list) and not holds_file(plain)
        out.append(json.dumps(plain, ensure_ascii=False, default=str) if is_json else value)
    return out


def install() -> bool:
    """Apply the adjustments above to Gradio's MCP server; ``False`` when ``mcp`` is not installed."""
    try:
        from gradio.mcp import GradioMCPServer
    except ImportError:  # gradio[mcp] missing: Gradio says so at launch and serves the app without it
        return False
    if getattr(GradioMCPServer, "_audiolab_adjusted", False):
        return True
    postprocess = GradioMCPServer.postprocess_output_data

    async def _execute_tool_without_progress(self, job: Any) -> list[Any]:
        result = await run_sync(job.result)
        return list(result) if isinstance(result, tuple) else [result]  # a tuple: one value per output

    def postprocess_output_data(self, data: Any, root_url: str):
        return postprocess(self, as_json_text(list(data)), root_url)

    GradioMCPServer._execute_tool_without_progress = _execute_tool_without_progress
    GradioMCPServer.postprocess_output_data = postprocess_output_data
    GradioMCPServer._audiolab_adjusted = True
    return True
