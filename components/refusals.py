"""Inputs that Gradio refuses before a handler runs get a message, not ``{"error": null}``.

Gradio checks each input first: a file must have been uploaded to this app, a file given by URL
must be on a public host, a value must have the component's form (a ``FileData`` dict for audio,
a number for a number). It raises plain exceptions for these, which ``show_error=False`` (needed
so unexpected errors never show server details) turns into an error without a message. Here each
refusal becomes a ``gr.Error`` in the user's words; the details go to the log only.
"""

from __future__ import annotations

import html
import logging

import gradio as gr
import pydantic
from gradio.exceptions import InvalidPathError

from audiolab.core.errors import AudioLabError
from components.common import request_language

log = logging.getLogger("audiolab.ui")

NOT_UPLOADED = AudioLabError(
    "That file was not uploaded to this app: upload it first (gradio_client: handle_file(path)).",
    zh="该文件不是上传到本应用的：请先上传（gradio_client：handle_file(path)）。",
)
PRIVATE_URL = AudioLabError(
    "Files given by URL must be on a public http(s) server.",
    zh="以网址给出的文件必须位于公共的 http(s) 服务器上。",
)


WRONG_FORM = AudioLabError(
    "An input does not have the form this endpoint takes (audio: a file sent with gradio_client's "
    "handle_file(path); numbers: numbers); Client.view_api() lists each parameter's type.",
    zh="某个输入的格式与此接口要求的不符（音频：用 gradio_client 的 handle_file(path) 发送的文件；数字：数字）；"
    "Client.view_api() 列出了每个参数的类型。",
)


def refusal(err: Exception) -> AudioLabError:
    """The user's message for Gradio's refusal ``err`` of an input."""
    if isinstance(err, InvalidPathError):
        return NOT_UPLOADED
    if isinstance(err, ValueError) and "failed validation" in str(err):  # Gradio's check of a URL's host
        return PRIVATE_URL
    return WRONG_FORM


def explain(demo: gr.Blocks) -> None:
    """Make every input refusal of ``demo`` a ``gr.Error`` with a message in the browser's language."""
    gradio_preprocess = demo.preprocess_data

    async def preprocess_data(block_fn, inputs, state, explicit_call=False):
        try:
            return await gradio_preprocess(block_fn, inputs, state, explicit_call)
        except gr.Error:
            raise
        except (InvalidPathError, pydantic.ValidationError, ValueError, TypeError) as err:
            log.info("input refused for %s: %s", block_fn.api_name, err)
            message = refusal(err).text(request_language())
            raise gr.Error(html.escape(message), print_exception=False) from None

    demo.preprocess_data = preprocess_data
