"""Launch the real app once per session and talk to it through gradio_client."""

from __future__ import annotations

import pytest
from gradio_client import Client


@pytest.fixture(scope="session")
def client(app_url):
    """A ``gradio_client.Client`` connected to the app."""
    return Client(app_url, verbose=False)
