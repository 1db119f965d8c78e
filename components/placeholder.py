"""A tab whose issue has not landed yet: says so, in both languages."""

import gradio as gr

from components.i18n import t


def build(shared: dict) -> None:
    """Show the "coming next" note."""
    gr.Markdown(t("coming_next"))
