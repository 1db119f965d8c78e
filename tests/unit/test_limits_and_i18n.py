"""Parameter checks in limits.py and the UI strings' two languages."""

from __future__ import annotations

import re

import pytest

from audiolab.core import limits
from audiolab.core.errors import AudioLabError


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, 11, "abc", None, True])
def test_check_number_refuses_non_finite_out_of_range_and_non_numbers(bad):
    with pytest.raises(AudioLabError):
        limits.check_number("x", bad, 0, 10)


def test_check_number_accepts_numeric_strings_and_enforces_integers():
    assert limits.check_number("x", "3", 0, 10, integer=True) == 3
    with pytest.raises(AudioLabError, match="whole number"):
        limits.check_number("x", 2.5, 0, 10, integer=True)


def test_check_choice_lists_the_valid_choices():
    with pytest.raises(AudioLabError, match="Please choose one of: a, b"):
        limits.check_choice("mode", "c", ("a", "b"))


def test_max_frames_bounds_memory_for_many_channels():
    assert limits.max_frames(16_000, 1) == int(limits.MAX_DURATION_S * 16_000)
    assert limits.max_frames(384_000, 32) * 32 <= limits.MAX_TOTAL_SAMPLES


def test_every_ui_string_has_english_and_chinese():
    import app  # noqa: F401 - registers every tab's strings
    from components.i18n import strings

    cjk = re.compile(r"[\u4e00-\u9fff]")
    table = strings()
    assert len(table) > 20
    for key, (en, zh) in table.items():
        assert en.strip() and zh.strip(), key
        proper_name = en == zh and en in {"wav2vec2", "torchaudio", "librosa"}  # names are not translated
        if cjk.search(en) is None and re.search(r"[A-Za-z]{4,}", en) and not proper_name:
            assert cjk.search(zh), f"{key}: Chinese text has no Chinese characters: {zh!r}"


def test_the_engine_never_imports_gradio():
    import pathlib

    for path in pathlib.Path("audiolab").rglob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+gradio", path.read_text(), re.M), path
