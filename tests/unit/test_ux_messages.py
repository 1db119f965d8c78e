"""Issue #19, point 5: every engine message the user can see also exists in Chinese."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from audiolab.core import urlfetch
from audiolab.core.errors import AudioLabError
from audiolab.wav2vec2 import models as w2v_models

ROOT = Path(__file__).resolve().parents[2]
ERRORS = ("AudioLabError", "ModelUnavailableError")


def _calls_without_zh(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ERRORS
        and not any(k.arg == "zh" for k in node.keywords)
    ]  # fmt: skip


@pytest.mark.parametrize(
    "path", sorted([*ROOT.glob("audiolab/**/*.py"), *ROOT.glob("components/**/*.py")]), ids=lambda p: p.name
)
def test_every_error_message_has_a_chinese_text(path):
    assert _calls_without_zh(path) == [], f"{path.relative_to(ROOT)}: AudioLabError without zh= at these lines"


def test_a_chinese_message_keeps_the_numbers_of_the_english_one():
    from audiolab.core import limits

    with pytest.raises(AudioLabError) as err:
        limits.check_number("n_fft", 3, 16, 8192)
    assert str(err.value) == "n_fft=3 is out of range: allowed 16 to 8192."
    assert err.value.text("zh-CN") == "n_fft=3 超出范围：允许 16 到 8192。"


def test_text_that_is_not_a_url_is_called_that():
    with pytest.raises(AudioLabError) as err:
        urlfetch.fetch_url("not a url")
    assert str(err.value) == "'not a url' is not a URL: it must start with http:// or https://."
    assert "this" not in str(err.value)


def test_an_unknown_local_model_names_the_model_folder_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path))
    with pytest.raises(AudioLabError) as err:
        w2v_models.check_model_name("local:nothere")
    assert f"{w2v_models.ENV_MODEL_DIR}={tmp_path}" in str(err.value) and "'nothere'" in str(err.value)
    assert w2v_models.ENV_MODEL_DIR in err.value.text("zh")
    monkeypatch.delenv(w2v_models.ENV_MODEL_DIR)
    with pytest.raises(AudioLabError, match="AUDIOLAB_MODEL_DIR is not set"):
        w2v_models.check_model_name("local:nothere")
