"""Compare (A/B): two clips measured against each other, as a panel the tabs embed.

:func:`build_compare` lays out the panel (align, match loudness, figures, the difference
spectrogram as ``.npy``, the code); given the tab's input as ``audio_a`` it adds clip B and
registers the ``compare`` endpoint. Augment and Griffin-Lim wire their own A and B to
:func:`compare_paths` (the same engine function).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

import gradio as gr

from audiolab.compare import compute as compare_engine
from audiolab.compare import snippets as compare_snippets
from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from audiolab.timeline import layers as timeline_layers
from components import timeline
from components.common import input_path, output_file, require_audio, user_errors
from components.i18n import register, t, text

register(
    {
        "cmp_title": ("Compare A/B: figures and difference spectrogram", "A/B 比较：指标与差值频谱"),
        "cmp_with_clip": ("Compare with another clip (B)", "与另一段音频（B）比较"),
        "cmp_clip_b": ("Clip B (upload or record; A is the input above)", "音频 B（上传或录音；A 是上面的输入）"),
        "cmp_align": (
            "Align: time (sample by sample) or content (B's time axis scaled to A's duration)",
            "对齐：按时间（逐采样点）或按内容（按时长比例缩放 B 的时间轴）",
        ),
        "cmp_match": (
            "Match loudness (ITU-R BS.1770): scale B to A's LUFS",
            "匹配响度（ITU-R BS.1770）：把 B 调到 A 的 LUFS",
        ),
        "cmp_run": ("Compare", "比较"),
        "cmp_metrics": (
            "Figures (B against A): SNR, SI-SDR, LSD (dB), loudness (LUFS), durations, rates",
            "指标（B 相对 A）：SNR、SI-SDR、LSD（dB）、响度（LUFS）、时长、采样率",
        ),
        "cmp_difference": (
            "Difference spectrogram, B minus A in dB (.npy, channel x freq x time)",
            "差值频谱，B 减 A，单位 dB（.npy，声道 x 频率 x 时间）",
        ),
        "err_no_clip_b": ("Please upload or record clip B first.", "请先上传或录制音频 B。"),
    }
)


@dataclass
class ComparePanel:
    """The widgets of one compare panel; ``outputs`` in the order :func:`compare_paths` returns."""

    align: gr.Radio
    match: gr.Checkbox
    button: gr.Button
    metrics: gr.JSON
    difference: gr.File
    code: gr.Code

    @property
    def outputs(self) -> list:
        return [self.metrics, self.difference, self.code]


def _decode(path: str, max_seconds: float | None) -> aio.Decoded:
    seconds = limits.CMP_MAX_DURATION_S if max_seconds is None else min(max_seconds, limits.CMP_MAX_DURATION_S)
    return aio.decode(path, max_seconds=seconds, max_samples=limits.CMP_MAX_INPUT_SAMPLES)


RECENT_MAX = 2  # comparisons kept: the panel and the A/B timeline of one click share one (at most ~60 s each)
_recent: OrderedDict[tuple, tuple[aio.Decoded, aio.Decoded, compare_engine.Comparison]] = OrderedDict()
_recent_lock = threading.Lock()


def _file_key(path: str) -> tuple:
    """A file's identity and version: its real path, size and modification time (ns)."""
    st = os.stat(path)
    return os.path.realpath(path), st.st_size, st.st_mtime_ns


def compared(path_a: str, path_b: str, align: str, match_loudness: bool, max_seconds_a: float | None = None):
    """``(A, B, comparison)``: both files decoded (bounded) and B compared against A.

    The compare panel and the A/B timeline of one click ask for the same pair: the last
    ``RECENT_MAX`` comparisons are kept (keyed by each file's path, size and modification time, and
    the settings) and given to both. Treat the results as read-only."""
    key = (_file_key(path_a), _file_key(path_b), align, bool(match_loudness), max_seconds_a)
    with _recent_lock:
        if key in _recent:
            _recent.move_to_end(key)
            return _recent[key]
    a, b = _decode(path_a, max_seconds_a), _decode(path_b, None)
    c = compare_engine.compare(a.waveform, a.sample_rate, b.waveform, b.sample_rate, align=align,
                               match_loudness=bool(match_loudness))  # fmt: skip
    with _recent_lock:
        _recent[key] = (a, b, c)
        while len(_recent) > RECENT_MAX:
            _recent.popitem(last=False)
    return a, b, c


def compare_paths(path_a: str, path_b: str, align: str, match_loudness: bool, *, max_seconds_a: float | None = None,
                  names: tuple[str, str] | None = None) -> tuple[dict, str, str]:  # fmt: skip
    """Decode both files (bounded), compare B against A; returns the report, the ``.npy`` path and the code.

    ``max_seconds_a``: a tab's own bound on A (what it processed); ``names``: file names for the code."""
    a, b, c = compared(path_a, path_b, align, match_loudness, max_seconds_a)
    c = replace(c, notes=[*(f"A: {n}" for n in a.notes), *(f"B: {n}" for n in b.notes), *c.notes])
    name_a, name_b = names or (Path(path_a).name, Path(path_b).name)
    frames = [-1 if d.waveform.shape[-1] == d.info.num_frames else d.waveform.shape[-1] for d in (a, b)]
    code = compare_snippets.compare_snippet(name_a, name_b, c, frames_a=frames[0], frames_b=frames[1])
    return c.report(), output_file("difference_db.npy", compare_engine.to_npy(c)), code


@user_errors
def compare(audio_a, audio_b, align, match_loudness=False):
    """Compare two clips: B measured against A (the reference), with torchaudio.

    Args:
        audio_a: clip A, the reference (at most 25 MB; the first 60 s are used): an http(s) URL or a file.
        audio_b: clip B, measured against A (same channel count; resampled to A's rate if needed).
        align: "time" (sample by sample over the overlap) or "content" (B's time axis scaled by B's duration / A's,
            e.g. after a time stretch; SNR and SI-SDR are then null).
        match_loudness: scale B to A's integrated loudness (ITU-R BS.1770) first; the gain is b_gain_db.

    Returns:
        the metrics dict (notes; a and b: duration_s, sample_rate, channels, samples, loudness_lufs;
        loudness_difference_db, b_gain_db, time_scale, snr_db, si_sdr_db, lsd_db, stft,
        difference_db axes), the difference spectrogram B minus A in dB as .npy (channel x freq x time), the code.
    """
    path_a = require_audio(audio_a)
    path_b = input_path(audio_b)
    if not path_b:
        raise AudioLabError(text("err_no_clip_b", "en"), zh=text("err_no_clip_b", "zh"))
    return compare_paths(path_a, path_b, align, match_loudness)


def build_compare(
    shared: dict, *, prefix: str, audio_a: gr.Audio | None = None, files: int = 1, open: bool = False
) -> ComparePanel:
    """An accordion with the compare panel; with ``audio_a`` (the tab's input) also clip B, wired as ``compare``.
    ``files``: difference spectrograms returned (one per pair compared)."""
    with gr.Accordion(t("cmp_with_clip") if audio_a is not None else t("cmp_title"), open=open):
        audio_b = None
        if audio_a is not None:
            audio_b = gr.Audio(sources=["upload", "microphone"], type="filepath", label=t("cmp_clip_b"),
                               elem_id=f"{prefix}-b")  # fmt: skip
        with gr.Row():
            align = gr.Radio(list(limits.CMP_ALIGNS), value="time", label=t("cmp_align"), elem_id=f"{prefix}-align")
            match = gr.Checkbox(False, label=t("cmp_match"), elem_id=f"{prefix}-match")
        button = gr.Button(t("cmp_run"), elem_id=f"{prefix}-run", size="sm")
        view = timeline.timeline(f"{prefix}-timeline", label=t("tl_label")) if audio_a is not None else None
        metrics = gr.JSON(label=t("cmp_metrics"), elem_id=f"{prefix}-metrics")
        difference = gr.File(label=t("cmp_difference"), file_count="multiple" if files > 1 else "single",
                             elem_id=f"{prefix}-difference")  # fmt: skip
        with gr.Accordion(t("code_panel"), open=False):
            code = gr.Code(language="python", elem_id=f"{prefix}-code")
    panel = ComparePanel(align, match, button, metrics, difference, code)
    if audio_a is not None:
        event = button.click(compare, [audio_a, audio_b, align, match], panel.outputs, api_name="compare")
        event.success(clips_view, [audio_a, audio_b, align], view, api_name=False)
    return panel


@user_errors
def clips_view(audio_a, audio_b, align):
    """The A/B timeline of the tab's clip (A) and clip B."""
    path_b = input_path(audio_b)
    if not path_b:
        return gr.skip()
    return ab_view(require_audio(audio_a), [(path_b, timeline.label("tl_clip_b"))], align,
                   name_a=timeline.label("tl_clip_a"))  # fmt: skip


def ab_view(path_a: str, others: list[tuple[str, list[str]]], align: str, *, name_a: list[str],
            max_seconds_a: float | None = None) -> dict:  # fmt: skip
    """The A/B timeline: clip A and each other clip on one time axis, each played as it is (no
    normalisation), with its integrated loudness (for "match loudness"), the factor that aligns its
    content with A's duration, and on A's track the difference spectrogram of each against A."""
    pairs = [compared(path_a, path_b, align, False, max_seconds_a) for path_b, _ in others]
    a = pairs[0][0] if pairs else _decode(path_a, max_seconds_a)  # A is decoded once
    clips = [timeline.Clip(a.waveform, a.sample_rate, name_a, audio=path_a)]
    letters = "BCDEFGH"
    for i, ((path_b, name_b), (_, b, c)) in enumerate(zip(others, pairs, strict=True)):
        diff = compare_engine.difference_layer(c)
        clips[0].lufs = c.metrics["a"]["loudness_lufs"]
        clips[0].layers.append(timeline_layers.difference_layer(
            diff.values_db, name=f"{letters[i]} − A", seconds_per_column=diff.seconds_per_column,
            hz_per_row=diff.hz_per_row, limit_db=diff.limit_db,
        ))  # fmt: skip
        stretch = a.waveform.shape[-1] / a.sample_rate / max(b.waveform.shape[-1] / b.sample_rate, 1e-9)
        lufs = c.metrics["b"]["loudness_lufs"]
        clips.append(timeline.Clip(b.waveform, b.sample_rate, name_b, audio=path_b, lufs=lufs, content_stretch=stretch))
    return timeline.show(clips)
