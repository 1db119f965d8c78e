"""Helpers shared by the tab modules: error translation and result files."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import io
import json
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import numpy as np
import soundfile as sf
import torch
from gradio import processing_utils
from gradio.context import LocalContext
from PIL import Image

from audiolab.core import cache, figdata, labels
from audiolab.core import io as aio
from audiolab.core.errors import AudioLabError, Note
from components import activity, storage
from components.i18n import register, t, text

log = logging.getLogger("audiolab.ui")

OUTPUT_DIR = storage.OUTPUT_DIR  # result files, kept within the disk budget by components.storage


register(
    {
        "err_out_of_memory": (
            "Not enough memory for this request; try a shorter clip.",
            "内存不足，无法处理此请求；请换一段更短的音频。",
        ),
        "err_unexpected": (
            "Something went wrong while processing this request. Please try other input.",
            "处理此请求时出错。请换一个输入再试。",
        ),
        "err_gpu_fallback": (
            "The GPU ran out of memory; this request ran on the CPU instead (slower).",
            "GPU 内存不足；此请求改在 CPU 上运行（较慢）。",
        ),
        "err_no_audio": (
            "Please upload or record some audio first (or pick an example).",
            "请先上传或录制一段音频（或选择一个示例）。",
        ),
        "notes_label": ("Notes and last error (kept until the next run)", "说明与最近的错误（保留到下次运行）"),
        "notes_error": ("Error", "错误"),
        "notes_none": ("No notes: nothing was cut, resampled or adjusted.", "无说明：没有截断、重采样或调整。"),
        "examples_default": ("Examples (synthesized by us)", "示例（我们自己合成）"),
        "common.complete": ("Complete", "完成"),  # Gradio's own key (announced to screen readers), missing in zh-CN
        "figure_data": ("Figure data (CSV)", "图表数据（CSV）"),
        "figure_data_where": (
            "Its data: the “Figure data (CSV)” button under the figure.",
            "数据：见图下方的“图表数据（CSV）”按钮。",
        ),
    }
)


def request_language() -> str:
    """The browser's language for the request being handled (first ``Accept-Language`` tag), else ``"en"``.

    Gradio keeps the current ``gr.Request`` in a context variable around every handler call
    (and every step of a generator), so no handler has to declare it."""
    request = LocalContext.request.get(None)
    headers = getattr(request, "headers", None) or {}
    header = headers.get("accept-language", "") if hasattr(headers, "get") else ""
    return header.split(",")[0].split(";")[0].strip() or "en"


class _CudaOutOfMemory(Exception):
    """A CUDA out-of-memory error, to be answered by rerunning the request on the CPU."""


# --- the last error of each (session, handler), shown in the tab's notes area ------------------

_LAST_ERRORS: dict[tuple[str, str], str] = {}
_LAST_ERRORS_MAX = 2048  # sessions x handlers kept; the oldest go first
_errors_lock = threading.Lock()


def _session() -> str | None:
    request = LocalContext.request.get(None)
    return getattr(request, "session_hash", None)


def _remember_error(name: str, message: str) -> None:
    session = _session()
    if session is None:
        return
    with _errors_lock:
        _LAST_ERRORS.pop((session, name), None)
        _LAST_ERRORS[(session, name)] = message
        while len(_LAST_ERRORS) > _LAST_ERRORS_MAX:
            del _LAST_ERRORS[next(iter(_LAST_ERRORS))]


def _user_error(name: str, message: str) -> gr.Error:
    _remember_error(name, message)
    return gr.Error(plain_html(message), duration=None, print_exception=False)  # a toast renders HTML


def plain_html(message: str) -> str:
    """``message`` (which may hold labels, file names, model names: user- or file-supplied text) escaped
    for a place that renders HTML, such as an error toast: it shows as the same plain text."""
    return html.escape(message, quote=False)


def _translated(call: Callable, name: str):
    """``call()``, with engine errors as ``gr.Error`` in the browser's language and anything unexpected
    logged (under the handler's ``name``) and hidden. The message is also kept for :func:`keep_notes`."""
    try:
        with (
            activity.handling(),  # the background warm-up waits while a handler runs
            storage.removed_on_failure(),  # a failed request leaves none of its result files behind
            labels.use_language(request_language()),  # figures drawn in the browser's language
        ):
            return call()
    except gr.Error as err:
        _remember_error(name, str(err.message))
        raise
    except AudioLabError as err:
        raise _user_error(name, err.text(request_language())) from None
    except torch.OutOfMemoryError:
        if cache.default_device() != "cpu":
            raise _CudaOutOfMemory from None
        log.exception("out of memory in %s", name)
        raise _user_error(name, text("err_out_of_memory", request_language())) from None
    except Exception:
        log.exception("unexpected error in %s", name)
        raise _user_error(name, text("err_unexpected", request_language())) from None


def _moving_to_cpu(name: str) -> None:
    """After a CUDA out-of-memory error: free the GPU cache and tell the user the request moves to the CPU."""
    log.warning("CUDA out of memory in %s; retrying this request on the CPU", name)
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    gr.Warning(text("err_gpu_fallback", request_language()))


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def plain_markdown(message: str) -> str:
    """``message`` as Markdown that renders as the same plain text (no HTML, links or emphasis)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(message, quote=False))


def notes_markdown(notes: list[str]) -> str:
    """A bulleted Markdown list of notes (plain text each; a :class:`Note` in the browser's language),
    or a line saying there are none."""
    if not notes:
        return text("notes_none", request_language())
    language = request_language()
    return "\n".join(f"- {plain_markdown(n.text(language) if isinstance(n, Note) else n)}" for n in notes)


def notes_area(elem_id: str) -> gr.Markdown:
    """The tab's notes area: the last run's notes, or its error, until the next run."""
    return gr.Markdown(label=t("notes_label"), show_label=True, container=True, elem_id=elem_id,
                       elem_classes=["audiolab-notes"])  # fmt: skip


def last_error(name: str) -> Callable:
    """A handler for ``event.failure``: the error that handler ``name`` raised for this session, as Markdown."""

    def show(request: gr.Request) -> str:
        with _errors_lock:
            message = _LAST_ERRORS.pop((getattr(request, "session_hash", None), name), None)
        word = text("notes_error", request_language())
        return f"**{word}:** {plain_markdown(message or text('err_unexpected', request_language()))}"

    return show


def keep_notes(event, notes: gr.Markdown, handler: Callable) -> None:
    """Show the error of ``handler`` (wrapped by :func:`user_errors`) in ``notes`` when ``event`` fails."""
    event.failure(last_error(handler.__name__), None, notes, api_name=False, queue=False)


def user_errors(fn: Callable) -> Callable:
    """Turn engine errors into ``gr.Error`` for the user; log and hide anything unexpected.
    After a CUDA out-of-memory error the request runs again on the CPU."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return _translated(lambda: fn(*args, **kwargs), fn.__name__)
        except _CudaOutOfMemory:
            _moving_to_cpu(fn.__name__)
        with cache.use_device("cpu"):
            return _translated(lambda: fn(*args, **kwargs), fn.__name__)

    return wrapper


_DONE = object()


def streamed(fn: Callable) -> Callable:
    """:func:`user_errors` for generator handlers: every step's engine errors become ``gr.Error``;
    after a CUDA out-of-memory error the whole stream starts again on the CPU."""

    def steps(args, kwargs, device: str | None):
        items = fn(*args, **kwargs)
        while True:  # the device is set around each step: Gradio may run each one in another thread
            with cache.use_device(device) if device else contextlib.nullcontext():
                item = _translated(lambda: next(items, _DONE), fn.__name__)
            if item is _DONE:
                return
            yield item

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            yield from steps(args, kwargs, None)
            return
        except _CudaOutOfMemory:
            _moving_to_cpu(fn.__name__)
        yield from steps(args, kwargs, "cpu")

    return wrapper


# --- a fast "can the browser play this?" for gr.Audio -----------------------------------------

_ffprobe_is_playable = processing_utils.audio_is_playable


def audio_is_playable(path: str) -> bool:
    """Gradio's ``processing_utils.audio_is_playable`` with the header read by libsndfile in-process.

    Gradio runs ``ffprobe`` for every audio it sends (each example at start-up, each result):
    ~0.15 s a file on 2 cores, 5 s of the app's start. WAV, FLAC and OGG give the same codec
    name here in microseconds; anything else still goes to ffprobe.
    """
    try:
        info = sf.info(path)
    except Exception:  # noqa: BLE001 - not a libsndfile format: let ffprobe tell
        return _ffprobe_is_playable(path)
    codec = "flac" if info.format == "FLAC" else aio.SF_CODECS.get((info.format, info.subtype))
    if codec is None:
        return _ffprobe_is_playable(path)
    return (Path(path).suffix.lower(), codec) in processing_utils.PLAYABLE_AUDIO_CODECS


processing_utils.audio_is_playable = audio_is_playable  # gr.Audio looks it up on the module at each call


def fresh_path(name: str) -> Path:
    """``name`` inside a new folder of the output directory (old results swept first)."""
    storage.sweep_old_now_and_then()
    folder = OUTPUT_DIR / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def output_file(name: str, data: bytes) -> str:
    """Write ``data`` to a fresh folder as ``name`` and return its path (within the disk budget)."""
    with storage.writing(fresh_path(name), 2 * len(data)) as path:  # 2x: Gradio keeps a copy in its cache
        path.write_bytes(data)
    return str(path)


def encoded_size_bound(waveform: torch.Tensor, sample_rate: int, fmt: str, bits: int | str = 16) -> int:
    """Bytes an encoded ``(channel, time)`` waveform takes at most: PCM size for WAV/FLAC, 320 kbit/s
    per channel pair for MP3/OGG, plus 64 KiB of headers."""
    channels, frames = waveform.shape[0], waveform.shape[-1]
    if fmt in ("wav", "flac"):
        per_sample = 4 if bits == "float" else int(bits) // 8
        return channels * frames * per_sample + 65_536
    return int(frames / sample_rate * 40_000 * max(1, (channels + 1) // 2)) + 65_536


def audio_file(name: str, waveform: torch.Tensor, sample_rate: int, **kwargs) -> str:
    """Encode audio straight into a fresh folder as ``name`` (format from its suffix); returns the path.

    ``kwargs`` go to :func:`audiolab.io.encode_into` (``bits``, ``bit_rate``). Writing to the
    file in blocks keeps long results from being held in memory twice as bytes. The disk budget
    is checked first (for the file and Gradio's copy of it); a failed write leaves no partial file.
    """
    fmt = Path(name).suffix.lstrip(".").lower()
    nbytes = 2 * encoded_size_bound(waveform, sample_rate, fmt, kwargs.get("bits", 16))
    with storage.writing(fresh_path(name), nbytes) as path:
        aio.save(path, waveform, sample_rate, **kwargs)
    return str(path)


def image_file(rgb: np.ndarray, name: str = "figure.png") -> str:
    """Write an RGB image as PNG to a fresh folder and return its path.

    Return this path to a ``gr.Image`` instead of the array: Gradio rewrites arrays into a
    content-addressed cache file in place, so two users with identical figures could read a
    half-written file; for paths it copies atomically. A figure that carries its data
    (:mod:`audiolab.core.figdata`) gets a CSV of it beside the PNG and an alt text, which a
    :func:`described_figure` shows once the image arrives.
    """
    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb)).save(buf, "PNG", compress_level=3)
    path = output_file(name, buf.getvalue())
    panels = figdata.panels_of(rgb)
    if panels:
        _describe_figure(buf.getvalue(), Path(path).with_suffix(".csv"), panels)
    return path


# --- what each figure shows, for screen readers and as a table --------------------------------

_FIGURES: OrderedDict[tuple[str, str], tuple[str, str]] = OrderedDict()  # (PNG sha256, language) -> (alt, CSV)
_FIGURES_MAX = 4096
_figures_lock = threading.Lock()


def _describe_figure(png: bytes, csv_path: Path, panels: tuple[figdata.Panel, ...]) -> None:
    """Write the panels' table to ``csv_path`` and remember the figure's alt text and table by its bytes."""
    data = figdata.table_csv(panels).encode("utf-8-sig")  # the BOM: spreadsheets read the Chinese headers right
    with storage.writing(csv_path, 2 * len(data)) as path:
        path.write_bytes(data)
    language = request_language()
    space = "" if language.lower().startswith("zh") else " "
    alt = f"{figdata.describe(panels)}{space}{text('figure_data_where', language)}"
    with _figures_lock:
        key = (hashlib.sha256(png).hexdigest(), "zh" if language.lower().startswith("zh") else "en")
        _FIGURES.pop(key, None)
        _FIGURES[key] = (alt, str(csv_path))
        while len(_FIGURES) > _FIGURES_MAX:
            _FIGURES.popitem(last=False)


def figure_data(image: object) -> tuple[dict, dict]:
    """The alt text of the figure a ``gr.Image`` shows and its table for the download button (hidden
    when the image is empty or was not made by :func:`image_file`)."""
    path = input_path(image)
    found = None
    if path and Path(path).is_file():
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        language = "zh" if request_language().lower().startswith("zh") else "en"
        with _figures_lock:
            found = _FIGURES.get((digest, language)) or _FIGURES.get((digest, "en" if language == "zh" else "zh"))
    if found is None or not Path(found[1]).is_file():
        return gr.update(alt_text=None), gr.update(value=None, visible=False)
    return gr.update(alt_text=found[0]), gr.update(value=found[1], visible=True)


def described_figure(label, elem_id: str, **kwargs) -> gr.Image:
    """A result figure: a ``gr.Image`` (file path) whose alt text says what it shows, with its data as a CSV
    download under it (``#<elem_id>-data``), both set when an :func:`image_file` figure arrives."""
    image = gr.Image(label=label, type="filepath", elem_id=elem_id, **kwargs)
    data = gr.DownloadButton(t("figure_data"), value=None, visible=False, size="sm", variant="secondary",
                             elem_id=f"{elem_id}-data")  # fmt: skip
    image.change(figure_data, image, [image, data], api_name=False, queue=False, show_progress="hidden")
    return image


EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def example_files() -> list[list[str]]:
    """``[[path], ...]`` for the clips listed in ``examples/manifest.json``."""
    manifest = EXAMPLES_DIR / "manifest.json"
    if not manifest.is_file():
        return []
    entries = json.loads(manifest.read_text(encoding="utf-8"))
    return [[str(EXAMPLES_DIR / e["file"])] for e in entries if (EXAMPLES_DIR / e["file"]).is_file()]


def audio_input(label, elem_id: str, examples_label=None, examples_id: str | None = None) -> gr.Audio:
    """An upload/record ``gr.Audio`` (file path) with our example clips under it."""
    audio = gr.Audio(sources=["upload", "microphone"], type="filepath", label=label, elem_id=elem_id)
    examples = example_files()
    if examples:
        gr.Examples(examples, inputs=audio, label=examples_label or t("examples_default"), cache_examples=False,
                    elem_id=examples_id)  # fmt: skip
    return audio


def per_language(outputs: list, make: Callable[[str], object]) -> None:
    """When the page loads, set ``outputs`` to ``make(language)`` for the browser's language: for what
    ``gr.I18n`` does not translate (choice labels, table headers)."""
    root = gr.context.Context.root_block
    if root is not None:
        root.load(lambda: make(request_language()), None, outputs, api_name=False, queue=False,
                  show_progress="hidden")  # fmt: skip


def choices_in(language: str, choices: list[tuple[str, str]], prefix: str) -> dict:
    """An update of a Radio/Dropdown whose choice ``value`` shows as the text of key ``prefix + value``."""
    return gr.update(choices=[(text(prefix + value, language), value) for _, value in choices])


def empty_table(keys: list[str], language: str) -> dict:
    """An update that empties a ``gr.Dataframe`` and names its columns (texts of ``keys``) in ``language``."""
    return gr.update(value={"headers": [text(k, language) for k in keys], "data": [[""] * len(keys)]})


def table(rows: list[list], keys: list[str]) -> dict:
    """A ``gr.Dataframe`` value with headers (the texts of ``keys``) in the browser's language."""
    language = request_language()
    return {"headers": [text(k, language) for k in keys], "data": rows}


def follow_audio(shared: dict, audio_in: gr.Audio) -> None:
    """Copy the Audio tab's result into ``audio_in`` only while ``audio_in`` is empty: a clip the
    user put in this tab is never replaced behind their back."""
    if "audio" in shared:
        shared["audio"].change(
            lambda new, current: gr.skip() if input_path(current) else new,
            [shared["audio"], audio_in], audio_in, api_name=False,
        )  # fmt: skip


def input_path(value: object) -> str | None:
    """The file path inside a ``gr.Audio``/``gr.File`` value (path, dict or FileData)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return value.get("path") or value.get("name")
    return getattr(value, "path", None) or getattr(value, "name", None)


def require_audio(value: object) -> str:
    """Like :func:`input_path`, but a missing input is a user error."""
    path = input_path(value)
    if not path:
        raise AudioLabError(text("err_no_audio", "en"), zh=text("err_no_audio", "zh"))
    return path
