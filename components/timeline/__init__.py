"""The interactive timeline shared by every tab: a ``gr.HTML`` whose browser side is our
JavaScript module (``src/``, built into ``dist/`` by ``scripts/build_timeline.sh``), fed with
view data the engine (``audiolab.timeline``) computes with torchaudio.

Tabs call :func:`timeline` in their layout and return :func:`show` (a view of one or more
tracks) to it, usually from a ``.then()`` step so the tab's API outputs stay as they are. Zoom
tiles and overlays come back through the component's server functions.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import gradio as gr
import torch
from gradio import processing_utils
from gradio import utils as gradio_utils

from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from audiolab.timeline import compute as engine
from audiolab.timeline import overlays as overlay_engine
from audiolab.timeline.layers import finite_or_none
from audiolab.timeline.store import STORE, Source
from components import storage
from components.i18n import register, strings

log = logging.getLogger("audiolab.ui")

HERE = Path(__file__).resolve().parent
DIST = HERE / "dist"
SOURCES = ("src", "package.json", "package-lock.json", "build.mjs")

register(
    {
        "tl_label": ("Timeline", "时间轴"),
        "tl_play": ("Play", "播放"),
        "tl_pause": ("Pause", "暂停"),
        "tl_zoom_in": ("Zoom in", "放大"),
        "tl_zoom_out": ("Zoom out", "缩小"),
        "tl_fit": ("Show all", "显示全部"),
        "tl_scale": ("Frequency axis", "频率轴"),
        "tl_linear": ("linear", "线性"),
        "tl_log": ("log", "对数"),
        "tl_mel": ("mel", "梅尔"),
        "tl_colormap": ("Colours", "配色"),
        "tl_floor": ("Floor (dB)", "下限（dB）"),
        "tl_ceiling": ("Ceiling (dB)", "上限（dB）"),
        "tl_follow": ("Follow playback", "跟随播放"),
        "tl_overlays": ("Overlays", "叠加"),
        "tl_pitch": ("pitch (f0)", "音高（f0）"),
        "tl_centroid": ("spectral centroid", "频谱质心"),
        "tl_loudness": ("loudness", "响度"),
        "tl_time": ("time", "时间"),
        "tl_freq": ("frequency", "频率"),
        "tl_level": ("level", "电平"),
        "tl_peak": ("peak", "峰值"),
        "tl_amplitude": ("amplitude", "振幅"),
        "tl_value": ("value", "数值"),
        "tl_waveform": ("Waveform", "波形"),
        "tl_spectrogram": ("Spectrogram", "语谱图"),
        "tl_channel": ("channel", "声道"),
        "tl_words": ("words", "词"),
        "tl_chars": ("characters", "字符"),
        "tl_play_span": ("Play", "播放"),
        "tl_loading": ("Computing detail…", "正在计算细节…"),
        "tl_empty": ("Run the tab to see its sound here.", "运行本页后，这里会显示声音。"),
        "tl_help": (
            "Wheel or pinch: zoom · drag or shift+wheel: pan · click: seek · double-click or 0: show all · "
            "space: play/pause · ←/→: move the cursor · Enter: play from it · +/−: zoom · A/B: switch track · "
            "top strip: the whole clip",
            "滚轮或双指：缩放 · 拖动或 Shift+滚轮：平移 · 单击：跳转 · 双击或 0：显示全部 · "
            "空格：播放/暂停 · ←/→：移动光标 · 回车：从光标处播放 · +/−：缩放 · A/B：切换音轨 · 顶部条：整段音频",
        ),
        "tl_canvas": (
            "Waveform and spectrogram on one time axis. Use the arrow keys to move the cursor; "
            "the readout below says what is under it.",
            "同一时间轴上的波形和语谱图。用方向键移动光标；下方读数说明光标处的内容。",
        ),
        "tl_readout": ("Under the cursor", "光标处"),
        "tl_track": ("track", "音轨"),
        "tl_ab": ("A/B", "A/B"),
        "tl_a_then_b": ("Play A then B", "先播放 A 再播放 B"),
        "tl_match": ("Match loudness", "响度匹配"),
        "tl_align": ("Align", "对齐"),
        "tl_by_time": ("by time", "按时间"),
        "tl_by_content": ("by content", "按内容"),
        "tl_difference": ("difference B − A", "差值 B − A"),
        "tl_expired": (
            "This view has expired; run the tab again to zoom in.",
            "此视图已过期；请重新运行本页以继续缩放。",
        ),
        "tl_grey": ("grey", "灰度"),
        "tl_input": ("input", "输入"),
        "tl_clip_a": ("clip A", "音频 A"),
        "tl_clip_b": ("clip B", "音频 B"),
        "tl_original": ("original", "原始"),
        "tl_result": ("result", "结果"),
        "tl_reconstruction": ("Griffin-Lim", "Griffin-Lim 重建"),
        "tl_true_phase": ("true-phase inverse", "真实相位逆变换"),
        "tl_note": ("note", "音名"),
        "tl_unvoiced": ("unvoiced", "无声"),
        "tl_gain": ("gain", "增益"),
    }
)


@dataclass
class Clip:
    """One track to show: audio ``(channel, time)`` at ``sample_rate``, played from ``audio`` (a file
    path Gradio serves), with optional layers, overlays and regions (see ``audiolab.timeline``)."""

    waveform: torch.Tensor
    sample_rate: int
    name: str | list[str]  # one text, or [en, zh]
    audio: str | None = None
    layers: list[dict] = field(default_factory=list)
    overlays: list[dict] = field(default_factory=list)
    regions: list[dict] = field(default_factory=list)
    offset_s: float = 0.0
    stretch: float = 1.0
    lufs: float | None = None  # integrated loudness, for "match loudness" in A/B views
    content_stretch: float | None = None  # time-axis factor that aligns its content with track A


def clip_from_file(path: str, name: str, **kwargs) -> Clip:
    """A track of the audio file at ``path`` (decoded within the app's limits), played from it."""
    decoded = aio.decode(path, max_seconds=limits.MAX_DURATION_S)
    return Clip(decoded.waveform, decoded.sample_rate, name, audio=str(path), **kwargs)


def label(key: str) -> list[str]:
    """A registered string as ``[en, zh]`` (track names follow the page's language)."""
    return list(strings()[key])


def _strings() -> dict[str, list[str]]:
    return {k: list(v) for k, v in strings().items() if k.startswith("tl_")}


def served(path: str | None) -> str | None:
    """``path`` where Gradio's file route serves it to the page (its upload folder: a copy, within
    the disk budget, for files elsewhere, e.g. our result files); None when there is no file."""
    if not path or not Path(path).is_file():
        return None
    upload = gradio_utils.get_upload_folder()
    if gradio_utils.is_in_or_equal(path, upload):
        return str(path)
    storage.ensure_room(Path(path).stat().st_size)
    return processing_utils.save_file_to_cache(path, upload)


def show(clips: list[Clip], extra: dict | None = None) -> dict:
    """The timeline's value for ``clips`` (one track each, on one time axis); their audio is kept
    in the view store for zoom tiles and overlays."""
    tracks, sources = [], []
    for clip in clips:
        waveform = clip.waveform.detach().to("cpu", torch.float32)
        t = engine.track(
            waveform, clip.sample_rate, name=clip.name, audio=served(clip.audio), layers=clip.layers,
            overlays=clip.overlays, regions=clip.regions, offset_s=clip.offset_s, stretch=clip.stretch,
        )  # fmt: skip
        t["lufs"], t["content_stretch"] = finite_or_none(clip.lufs), finite_or_none(clip.content_stretch)
        tracks.append(t)
        sources.append(Source(waveform, clip.sample_rate, t["n_fft"], t["spec"]["db_max"]))
    view_id = STORE.put(sources)
    return engine.view(tracks, view_id=view_id, strings=_strings(), extra=extra)


def _source(data: dict) -> Source:
    sources = STORE.get(data.get("id"))
    index = data.get("track", 0)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(sources):
        raise AudioLabError(f"No track {index!r} in this view.", zh=f"此视图中没有音轨 {index!r}。")
    return sources[index]


def _failure(err: Exception) -> dict:
    if isinstance(err, AudioLabError):
        return {"error": [str(err), err.zh or str(err)]}
    log.exception("timeline server function failed")
    return {"error": ["Something went wrong while drawing this view.", "绘制此视图时出错。"]}


def _number(data: dict, key: str) -> float:
    value = data.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value or abs(value) > 1e7:
        raise AudioLabError(f"{key} must be a number, not {value!r}.", zh=f"{key} 必须是数字，而不是 {value!r}。")
    return float(value)


def timeline_tile(data: dict) -> dict:
    """Server function: spectrogram and peaks of ``{id, track, t0, t1, cols}`` at that pixel width."""
    try:
        if not isinstance(data, dict):
            raise AudioLabError("Bad tile request.", zh="缩放请求无效。")
        source = _source(data)
        t0, t1, cols = _number(data, "t0"), _number(data, "t1"), int(_number(data, "cols"))
        return engine.tile(source.waveform, source.sample_rate, source.n_fft, t0, t1, cols, source.db_max)
    except Exception as err:  # noqa: BLE001 - the browser shows the message; the server keeps serving
        return _failure(err)


def timeline_overlay(data: dict) -> dict:
    """Server function: the overlay ``{id, track, key}`` (pitch, centroid or loudness), computed once."""
    try:
        if not isinstance(data, dict) or data.get("key") not in overlay_engine.KEYS:
            raise AudioLabError("Unknown overlay.", zh="未知的叠加层。")
        source = _source(data)
        key = data["key"]
        if key not in source.overlays:
            source.overlays[key] = overlay_engine.compute(key, source.waveform, source.sample_rate)
        return source.overlays[key]
    except Exception as err:  # noqa: BLE001 - the browser shows the message; the server keeps serving
        return _failure(err)


JS_ON_LOAD = """
const start = () => window.AudioLabTimeline.mount(element, props, server, watch);
if (window.AudioLabTimeline) start(); else window.addEventListener("audiolab-timeline-ready", start, {once: true});
"""


def timeline(elem_id: str, label=None) -> gr.HTML:
    """The timeline component (empty until a view is returned to it)."""
    return gr.HTML(
        value=None,
        html_template='<div class="altl-host"></div>',
        js_on_load=JS_ON_LOAD,
        server_functions=[timeline_tile, timeline_overlay],
        elem_id=elem_id,
        elem_classes=["altl"],
        label=label,
        padding=False,
        apply_default_css=False,
    )


def source_hash() -> str:
    """SHA-256 of the frontend's source files (what ``dist/`` was built from)."""
    digest = hashlib.sha256()
    found = []
    for name in SOURCES:
        path = HERE / name
        found += [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    for name in sorted(p.relative_to(HERE).as_posix() for p in found):
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return digest.hexdigest()


@lru_cache(maxsize=1)
def head_html() -> str:
    """The built module and its styles, for ``launch(head=...)`` (loaded once per page)."""
    js = (DIST / "timeline.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    css = (DIST / "timeline.css").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n<script>{js}</script>"
