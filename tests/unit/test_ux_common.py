"""Issue #19: errors in the browser's language, kept for the tab's notes area, shown as plain text."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest
from gradio.context import LocalContext

from audiolab.core.errors import AudioLabError
from components import common
from components.common import last_error, notes_markdown, plain_markdown, request_language, user_errors


@pytest.fixture
def browser_request():
    """Set the request Gradio would put in its context variable around a handler call."""

    def set_request(language: str, session: str = "s1"):
        LocalContext.request.set(SimpleNamespace(headers={"accept-language": language}, session_hash=session))

    yield set_request
    LocalContext.request.set(None)


@user_errors
def failing():
    raise AudioLabError("n_fft=3 is out of range", zh="n_fft=3 超出范围")


def test_the_browser_language_comes_from_accept_language(browser_request):
    assert request_language() == "en"  # outside a request
    browser_request("zh-CN,zh;q=0.9,en;q=0.8")
    assert request_language() == "zh-CN"


def test_a_chinese_browser_gets_the_chinese_message(browser_request):
    browser_request("zh-CN,zh;q=0.9")
    with pytest.raises(gr.Error, match="n_fft=3 超出范围"):
        failing()
    browser_request("en-US,en;q=0.9")
    with pytest.raises(gr.Error, match="n_fft=3 is out of range"):
        failing()


def test_unexpected_errors_are_translated_too(browser_request):
    @user_errors
    def broken():
        raise KeyError("/secret")

    browser_request("zh-CN")
    with pytest.raises(gr.Error, match="处理此请求时出错"):
        broken()


def test_the_last_error_is_kept_per_session_until_shown_once(browser_request):
    browser_request("en", session="alice")
    with pytest.raises(gr.Error):
        failing()
    show = last_error("failing")
    assert show(SimpleNamespace(session_hash="bob")).endswith(
        "Something went wrong while processing this request. Please try other input."
    )
    assert show(SimpleNamespace(session_hash="alice")) == "**Error:** n\\_fft=3 is out of range"
    assert ("alice", "failing") not in common._LAST_ERRORS


def test_errors_stay_on_screen_until_closed():
    with pytest.raises(gr.Error) as err:
        failing()
    assert err.value.duration is None


def test_user_text_in_notes_is_not_markup():
    assert plain_markdown("<img src=x onerror=alert(1)> *bold* [a](b)") == (
        "&lt;img src=x onerror=alert\\(1\\)&gt; \\*bold\\* \\[a\\]\\(b\\)"
    )
    assert notes_markdown(["a", "b_c"]) == "- a\n- b\\_c"
    assert notes_markdown([]).startswith("No notes")


def test_the_cache_panel_shows_no_cuda_line_without_cuda(monkeypatch, browser_request):
    import torch

    from components import wav2vec2_tab

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    _, line = wav2vec2_tab.cache_status()
    assert "cpu:" in line and "cuda" not in line
    browser_request("zh-CN")
    _, line = wav2vec2_tab.cache_status()
    assert line.startswith("新条目所用设备") and "cuda" not in line


def test_the_model_list_says_which_models_work_offline(tmp_path, monkeypatch):
    import torch
    import torchaudio

    from audiolab.wav2vec2 import models as w2v_models
    from components import wav2vec2_tab

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path / "models"))
    (tmp_path / "models" / "mine").mkdir(parents=True)
    (tmp_path / "models" / "mine" / "config.json").write_text("{}")
    weights = w2v_models.bundle_checkpoint(torchaudio.pipelines.WAV2VEC2_ASR_BASE_960H)
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"0")
    labels = dict((name, label) for label, name in wav2vec2_tab.model_options())
    assert labels["WAV2VEC2_ASR_BASE_960H"].endswith("✓ cached, works offline")
    assert labels["WAV2VEC2_BASE"].endswith("↓ downloads on first use")
    assert labels["local:mine"].endswith("✓ cached, works offline")
    assert not labels["hf:facebook/wav2vec2-base-960h"].endswith(("offline", "use"))  # not known before loading
    zh = dict((name, label) for label, name in wav2vec2_tab.model_options("zh-CN"))
    assert zh["WAV2VEC2_BASE"].endswith("首次使用时下载")
