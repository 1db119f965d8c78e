"""Words on figures in the reader's language: English, or Simplified Chinese (drawn with a CJK font).

The UI sets the language around each request (:func:`use_language`); the figure code stays in
English and :func:`label` translates each title, axis and colour-bar label as it is drawn (whole
phrases first, then known words inside longer titles). Values, names and units stay as they are.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

_LANGUAGE: ContextVar[str] = ContextVar("figure_language", default="en")

ZH: dict[str, str] = {
    # axes and colour bars
    "Time (s)   (click a word to play it)": "时间（秒）（点击单词播放）",
    "Time (s)": "时间（秒）", "Frequency (Hz)": "频率（Hz）", "Power (dB)": "功率（dB）",
    "Magnitude (dB)": "幅度（dB）", "Phase (rad)": "相位（弧度）", "Amplitude": "幅度", "amplitude": "幅度",
    "Activation": "激活值", "Weight": "权重", "Channel": "声道", "Frame": "帧", "Frequency bin": "频点",
    "Iterations done": "已完成的迭代", "Layer": "层", "RMS value": "RMS 值", "cosine similarity": "余弦相似度",
    "log-probability": "对数概率", "Spectral convergence (dB)": "谱收敛度（dB）", "Token (label)": "词元（标签）",
    "Epoch": "轮次", "Predicted label": "预测标签", "True label": "真实标签", "Accuracy": "准确率",
    "Cross-entropy loss": "交叉熵损失", "Feature dimension": "特征维度", "Mel filter": "梅尔滤波器",
    "f0 (Hz)": "基频 f0（Hz）", "LKFS (400 ms)": "LKFS（400 毫秒）",
    # titles
    "Similarity between layers (same frame)": "层间相似度（同一帧）",
    "Energy per layer (chosen layer in red)": "各层能量（所选层为红色）",
    "Forced alignment (torchaudio.functional.forced_align)": "强制对齐（torchaudio.functional.forced_align）",
    "NCCF pitch, voiced frames only (line) on the spectrogram": "NCCF 音高，仅浊音帧（曲线）叠加在频谱图上",
    "Spectral centroid (line) on the spectrogram": "谱质心（曲线）叠加在频谱图上",
    "detect_pitch_frequency (line) on the spectrogram": "detect_pitch_frequency（曲线）叠加在频谱图上",
    "Griffin-Lim reconstruction": "Griffin-Lim 重建",
    # columns of the figures' data tables (audiolab.core.figdata)
    "Panel": "面板", "Line": "曲线", "Value": "值", "Minimum": "最小值", "Maximum": "最大值", "Figure": "图",
    "Word": "词", "Start (s)": "开始（秒）", "End (s)": "结束（秒）", "Score": "得分", "Count": "数量",
    "Emission": "发射矩阵",
}  # fmt: skip
ZH_WORDS: dict[str, str] = {  # inside longer titles with values: "Before: 1.00 s at 16000 Hz"
    "Spectral convergence against the InverseMelScale estimate": "相对 InverseMelScale 估计的谱收敛度",
    "Spectral convergence against the original magnitude": "相对原始幅度的谱收敛度",
    "Emission (log-probability per frame)": "发射矩阵（每帧对数概率）",
    "transformer layer": "Transformer 层", "Held-out clips": "留出片段", "correct": "正确",
    "Voicing (NCCF); voiced above": "清浊音（NCCF）；高于", "(grey line)": "（灰线）为浊音",
    "tokens shown": "个词元已显示", "of": "/", "Waveform": "波形", "Spectrogram": "频谱图",
    "Mel spectrogram": "梅尔频谱图", "Mel filterbank": "梅尔滤波器组", "Loudness": "响度", "all": "整体",
    "Before": "处理前", "After": "处理后", "Original": "原始", "channels": "个声道", "first": "前",
    "amplitude": "幅度", "Pitch": "音高", "Deltas": "差分", "Spectral centroid": "谱质心", "Voicing": "清浊音",
    "clipped at": "截断于",
}  # fmt: skip
_WORDS = re.compile("|".join(rf"(?<![\w]){re.escape(w)}(?![\w])" for w in sorted(ZH_WORDS, key=len, reverse=True)))
CJK_FONTS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK.ttc")
CJK_FONT_NAMES = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Droid Sans Fallback")


@contextlib.contextmanager
def use_language(language: str) -> Iterator[None]:
    """Draw figures in ``language`` (``"zh..."``: Chinese; anything else: English) inside the block."""
    token = _LANGUAGE.set("zh" if language.lower().startswith("zh") else "en")
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


def chinese() -> bool:
    """Whether figures are drawn in Chinese now."""
    return _LANGUAGE.get() == "zh"


def label(text: str) -> str:
    """``text`` (a title or axis label) in the current language."""
    if not chinese() or not text:
        return text
    if text in ZH:
        return ZH[text]
    return _WORDS.sub(lambda m: ZH_WORDS[m.group(0)], text)


@lru_cache(maxsize=1)
def cjk_font_file() -> str | None:
    """A font file with Chinese glyphs (and Latin ones), or ``None`` if none is installed."""
    return next((p for p in CJK_FONTS if Path(p).is_file()), None)
