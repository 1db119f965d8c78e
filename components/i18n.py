"""UI text in English and Simplified Chinese, served through ``gr.I18n``.

Each tab module registers its own strings (``key: (english, chinese)``) at import and
uses ``t(key)`` in its layout; the browser's language picks the text.
"""

from __future__ import annotations

import gradio as gr
from gradio.i18n import I18nData

_STRINGS: dict[str, tuple[str, str]] = {}


def register(strings: dict[str, tuple[str, str]]) -> None:
    """Add a tab's ``key: (en, zh)`` strings; a key may be registered once."""
    clash = set(strings) & set(_STRINGS)
    if clash:
        raise ValueError(f"i18n keys registered twice: {sorted(clash)}")
    _STRINGS.update(strings)


def t(key: str) -> I18nData:
    """The translatable text for ``key`` (must be registered)."""
    if key not in _STRINGS:
        raise KeyError(f"Unknown i18n key {key!r}; register it first.")
    return I18nData(key)


def text(key: str, language: str = "en") -> str:
    """The plain text of ``key`` in ``language`` (``"zh"``, ``"zh-CN"``, ... or anything else for English),
    for text made on the server (messages, plot labels) rather than shown through ``t``."""
    en, zh = _STRINGS[key]
    return zh if language.lower().startswith("zh") else en


def strings() -> dict[str, tuple[str, str]]:
    """All registered strings (tests check each has both languages)."""
    return dict(_STRINGS)


def build_i18n() -> gr.I18n:
    """The ``gr.I18n`` passed to ``launch()``: English, and Chinese for zh/zh-CN browsers."""
    en = {k: v[0] for k, v in _STRINGS.items()}
    zh = {k: v[1] for k, v in _STRINGS.items()}
    return gr.I18n(en=en, zh=zh, **{"zh-CN": zh, "zh-TW": zh})


register(
    {
        "app_title": ("TorchAudio Lab", "TorchAudio 实验室"),
        "app_intro": (
            "Hear and see what **torchaudio** does: load audio, compute features, augment, "
            "rebuild waveforms, run wav2vec2 and train a classifier head, all in your browser. "
            "Every result shows the torchaudio code that reproduces it.",
            "在浏览器里听见、看见 **torchaudio** 的能力：加载音频、计算特征、数据增强、"
            "重建波形、运行 wav2vec2、训练分类头。每个结果都附有可复现它的 torchaudio 代码。",
        ),
        "tab_audio": ("Audio", "音频"),
        "tab_features": ("Features", "特征"),
        "tab_augment": ("Augment", "增强"),
        "tab_griffinlim": ("Griffin-Lim", "Griffin-Lim 重建"),
        "tab_wav2vec2": ("wav2vec2", "wav2vec2"),
        "tab_train": ("Train", "训练"),
        "code_panel": ("Code (torchaudio)", "代码（torchaudio）"),
        "device_line": ("Running on", "运行设备"),
    }
)
