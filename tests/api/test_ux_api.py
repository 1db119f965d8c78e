"""Issue #19 through the API: a client that asks for Chinese gets the Chinese message."""

from __future__ import annotations

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError


def test_errors_come_in_the_language_the_client_accepts(app_url, sine_wav):
    chinese = Client(app_url, verbose=False, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    with pytest.raises(AppError, match="frame_offset=-5 超出范围"):
        chinese.predict(handle_file(str(sine_wav)), -5, -1, "original", "wav", "16", api_name="/load_audio")
    english = Client(app_url, verbose=False)
    with pytest.raises(AppError, match="frame_offset=-5 is out of range"):
        english.predict(handle_file(str(sine_wav)), -5, -1, "original", "wav", "16", api_name="/load_audio")
