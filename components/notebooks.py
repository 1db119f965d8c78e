"""A "Download as notebook" button next to each tab's code panel (the notebook: audiolab.core.notebook)."""

from __future__ import annotations

import gradio as gr

from audiolab.core import notebook
from components.common import output_file, request_language, user_errors
from components.i18n import register, t

register({"notebook_download": ("Download as a Jupyter notebook (.ipynb)", "下载为 Jupyter 笔记本（.ipynb）")})


def notebook_file(code: str | None, kind: str, language: str = "en") -> str | None:
    """The ``.ipynb`` of the code panel's ``code`` (``None`` while the panel is empty)."""
    if not code or not code.strip():
        return None
    fields = {}
    if kind == "features":
        fields["title"] = _feature_name(code)
    if kind == "wav2vec2" and "\nchosen = " in code:
        fields |= {"var": "chosen", "title": "Layer features"}
    nb = notebook.build(code, kind, language=language, file=notebook.audio_file_of(code), plot=fields)
    return output_file(f"{kind}.ipynb", notebook.to_bytes(nb))


def _feature_name(code: str) -> str:
    """The feature a Features snippet computes, for the plot's title."""
    for marker, name in (("melscale_fbanks", "mel_filterbank"), ("nccf_pitch(", "pitch_nccf")):
        if marker in code:
            return name
    return "feature"


def notebook_button(code: gr.Code, kind: str, elem_id: str) -> gr.DownloadButton:
    """A download button that always holds the notebook of what ``code`` shows (in the UI's language)."""
    button = gr.DownloadButton(t("notebook_download"), value=None, size="sm", elem_id=elem_id)

    @user_errors
    def refresh(text):
        return notebook_file(text, kind, request_language())

    code.change(refresh, code, button, api_name=False, queue=False)
    return button
