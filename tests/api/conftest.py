"""Launch the real app once per session and talk to it through gradio_client."""

from __future__ import annotations

import pytest
from gradio_client import Client


@pytest.fixture(scope="session")
def app_url():
    """URL of the launched app (the same hardened settings as ``app.main``)."""
    import app

    _, url, _ = app.demo.launch(prevent_thread_lock=True, quiet=True, **app.launch_kwargs())
    yield url
    app.demo.close()


@pytest.fixture(scope="session")
def client(app_url):
    """A ``gradio_client.Client`` connected to the app."""
    return Client(app_url, verbose=False)
