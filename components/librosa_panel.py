"""The Features tab's "Compare with librosa" panel: widgets and the text of a comparison.

The numbers come from :mod:`audiolab.features.librosa_bridge`; the handler lives in
``features_tab`` (it decodes and computes as the tab does).
"""

from __future__ import annotations

import html
import math

import gradio as gr

from audiolab.core.errors import Note
from audiolab.features import librosa_bridge
from components.common import described_figure
from components.i18n import register, t, text

register(
    {
        "lib_compare": ("Compare with librosa", "与 librosa 对比"),
        "lib_compare_info": (
            "Also compute librosa's equivalent of these settings (spectrogram, mel, MFCC, spectral centroid, "
            "deltas, pitch). The first use takes a few seconds more (librosa loads, numba compiles).",
            "同时用 librosa 计算相同设置下的等价结果（频谱、梅尔、MFCC、谱质心、差分、音高）。"
            "首次使用会多花几秒（加载 librosa，numba 编译）。",
        ),
        "lib_title": ("torchaudio vs librosa", "torchaudio 与 librosa 对比"),
        "lib_figure": (
            "torchaudio, librosa and their difference (channel 0)",
            "torchaudio、librosa 及其差值（声道 0）",
        ),
        "lib_stats": ("Differences (JSON)", "差异（JSON）"),
        "lib_code_ta": ("torchaudio code", "torchaudio 代码"),
        "lib_code_lr": ("librosa code (the same settings)", "librosa 代码（相同设置）"),
        "lib_max_abs": ("Largest absolute difference", "最大绝对差"),
        "lib_max_rel": ("relative to torchaudio's largest value", "相对于 torchaudio 的最大值"),
        "lib_matched": (
            "The conventions below were matched, so the two agree to float32 rounding.",
            "下表中的约定已对齐，两者只相差 float32 舍入误差。",
        ),
        "lib_not_matched": (
            "Different algorithms: they cannot be made equal. Both are shown; compare the medians.",
            "算法不同，无法做到数值一致。两者都已显示，请比较中位数。",
        ),
        "lib_unsupported": (
            "librosa has no counterpart of this feature here; pick spectrogram, mel spectrogram, MFCC, spectral "
            "centroid, deltas or pitch.",
            "这里没有与此特征对应的 librosa 计算；请选择频谱、梅尔频谱、MFCC、谱质心、差分或音高。",
        ),
        "lib_convention": ("Convention", "约定"),
        "lib_torchaudio": ("torchaudio", "torchaudio"),
        "lib_librosa": ("librosa, as the app called it", "librosa（本应用的调用方式）"),
    }
)


CONVENTIONS_ZH = {  # the table's first column in Chinese (the other two are code)
    "centre padding": "居中填充", "pad_mode": "填充方式 pad_mode", "window": "窗函数",
    "frames": "帧数", "normalized": "归一化", "magnitude vs power": "幅度还是功率", "mel scale": "梅尔刻度",
    "filter norm": "滤波器归一化", "f_max": "f_max", "dB": "dB", "log of the mels": "梅尔能量取对数",
    "DCT": "DCT", "silent frames": "静音帧", "deltas": "差分", "delta-deltas": "二阶差分", "algorithm": "算法",
}  # fmt: skip


def _name(convention: str, language: str) -> str:
    return CONVENTIONS_ZH.get(convention, convention) if language.lower().startswith("zh") else convention


def _cell(value: str) -> str:
    """A Markdown table cell: HTML escaped, pipes kept inside the cell."""
    return html.escape(value).replace("|", "\\|")


def comparison_markdown(stats: dict, language: str) -> str:
    """The differences and the conventions table of :meth:`Comparison.stats`, in ``language``."""
    rel = stats["max_rel_difference"]
    lines = [
        f"**{text('lib_max_abs', language)}: {stats['max_abs_difference']:.3g}** "
        f"({text('lib_max_rel', language)}: {rel:.3g})"
        if not math.isnan(rel)
        else "",
        "",
        text("lib_matched" if stats["comparable"] else "lib_not_matched", language),
        "",
        *(f"- {_cell(note.text(language) if isinstance(note, Note) else note)}" for note in stats["notes"]),
        "",
        f"| {text('lib_convention', language)} | {text('lib_torchaudio', language)} | "
        f"{text('lib_librosa', language)} |",
        "|---|---|---|",
        *(f"| {_cell(_name(a, language))} | `{_cell(b)}` | `{_cell(c)}` |" for a, b, c in stats["conventions"]),
    ]
    return "\n".join(lines)


def unsupported_markdown(language: str) -> str:
    """What the panel says for a feature without a librosa counterpart."""
    return text("lib_unsupported", language) + f" ({', '.join(librosa_bridge.SUPPORTED)})"


def librosa_checkbox() -> gr.Checkbox:
    """The "Compare with librosa" option (off by default: librosa loads only when it is used)."""
    return gr.Checkbox(False, label=t("lib_compare"), info=t("lib_compare_info"), elem_id="features-librosa")


def librosa_outputs() -> dict:
    """The panel's outputs, hidden until a comparison is shown: group, figure, table, both codes, stats."""
    with gr.Group(visible=False, elem_id="features-librosa-panel") as group:
        gr.Markdown(t("lib_title"))
        figure = described_figure(t("lib_figure"), "features-librosa-figure")
        table = gr.Markdown(elem_id="features-librosa-table")
        with gr.Row():
            code_ta = gr.Code(language="python", label=t("lib_code_ta"), elem_id="features-librosa-code-ta")
            code_lr = gr.Code(language="python", label=t("lib_code_lr"), elem_id="features-librosa-code")
        stats = gr.JSON(label=t("lib_stats"), elem_id="features-librosa-stats")
    return {"group": group, "figure": figure, "table": table, "code_ta": code_ta, "code_lr": code_lr, "stats": stats}
