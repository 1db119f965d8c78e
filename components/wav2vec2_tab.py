"""wav2vec2 tab: emissions, greedy transcript, forced alignment, layer features, model cache status.

API names (inputs -> outputs), see README:
- ``emissions(audio, model, chunk_s, context_s)`` -> emission image, transcript, emissions ``.npy``
  (log-probabilities, frames x tokens), transcript JSON file, code, notes
- ``transcribe(audio, model, chunk_s, context_s)`` -> transcript, result dict
- ``align(audio, model, transcript, chunk_s, context_s)`` -> alignment image, word table,
  alignment JSON file, code, notes (an empty transcript aligns the recognised one)
- ``layer_features(audio, model, layer, chunk_s, context_s)`` -> layer image, summary image,
  layer features ``.npy`` (frames x dim), summary dict, code, notes
- ``list_models()`` -> model rows; ``cache_status()`` -> cache entries, usage summary
"""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import gradio as gr
import numpy as np
import torch

from audiolab.batch import recipes
from audiolab.core import cache, limits
from audiolab.core import io as aio
from audiolab.core.errors import AudioLabError
from audiolab.timeline import compute as timeline_compute
from audiolab.timeline import layers as timeline_layers
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import figures as w2v_figures
from audiolab.wav2vec2 import models as w2v_models
from audiolab.wav2vec2 import snippets as w2v_snippets
from components import timeline
from components.batch_tab import recipe_file, recipe_widgets
from components.common import (
    audio_file,
    audio_input,
    described_figure,
    empty_table,
    follow_audio,
    image_file,
    keep_notes,
    notes_area,
    notes_markdown,
    output_file,
    per_language,
    request_language,
    require_audio,
    table,
    user_errors,
)
from components.i18n import register, t, text
from components.notebooks import notebook_button

log = logging.getLogger("audiolab.ui")

register(
    {
        "w2v_input": ("Input audio (speech works best)", "输入音频（语音效果最好）"),
        "w2v_model": ("Model", "模型"),
        "w2v_refresh": ("Refresh model list", "刷新模型列表"),
        "w2v_model_help": (
            "torchaudio bundles download once into the torch hub cache; `hf:` models come from the "
            "Hugging Face Hub; `local:` models are folders (config.json, vocab.json, model.safetensors) "
            "inside the folder named by the `AUDIOLAB_MODEL_DIR` environment variable.",
            "torchaudio 预训练包首次使用时下载到 torch hub 缓存；`hf:` 模型来自 Hugging Face Hub；"
            "`local:` 模型是环境变量 `AUDIOLAB_MODEL_DIR` 所指目录中的文件夹"
            "（config.json、vocab.json、model.safetensors）。",
        ),
        "w2v_long": ("Long audio (chunked inference)", "长音频（分块推理）"),
        "w2v_chunk": ("Chunk length (s)", "分块长度（秒）"),
        "w2v_context": ("Context each side of a chunk (s)", "每块两侧的上下文（秒）"),
        "w2v_run": ("Run wav2vec2", "运行 wav2vec2"),
        "w2v_tab_emission": ("Emission & transcript", "发射概率与转写"),
        "w2v_tab_align": ("Forced alignment", "强制对齐"),
        "w2v_tab_layers": ("Layer features", "各层特征"),
        "w2v_emission": ("Emission (tokens x time)", "发射矩阵（词元 × 时间）"),
        "w2v_transcript": ("Greedy CTC transcript", "贪心 CTC 转写"),
        "w2v_emission_file": ("Emissions (.npy, log-probabilities)", "发射矩阵（.npy，对数概率）"),
        "w2v_transcript_file": ("Transcript (JSON)", "转写（JSON）"),
        "w2v_align_text": (
            "Transcript to align (empty: the recognised one)",
            "要对齐的文本（留空则使用识别结果）",
        ),
        "w2v_align_run": ("Align", "对齐"),
        "w2v_alignment": ("Alignment (click a word to play it)", "对齐结果（点击单词播放）"),
        "w2v_words": ("Words (select a row to play it)", "单词（选中一行播放）"),
        "w2v_segment": ("Selected word", "所选单词"),
        "w2v_alignment_file": ("Alignment (JSON)", "对齐结果（JSON）"),
        "w2v_layer": ("Transformer layer", "Transformer 层"),
        "w2v_layer_run": ("Extract features", "提取特征"),
        "w2v_layer_image": ("Layer features", "该层特征"),
        "w2v_layer_summary": ("All layers: similarity and energy", "所有层：相似度与能量"),
        "w2v_layer_file": ("Layer features (.npy)", "该层特征（.npy）"),
        "w2v_notes": ("Notes", "说明"),
        "w2v_cache": ("Model cache (shared by all users)", "模型缓存（所有用户共享）"),
        "w2v_cache_refresh": ("Refresh cache status", "刷新缓存状态"),
        "w2v_cached": ("✓ cached, works offline", "✓ 已缓存，可离线使用"),
        "w2v_download": ("↓ downloads on first use", "↓ 首次使用时下载"),
    }
)

WORD_HEADERS = ["word", "start (s)", "end (s)", "score"]
WORD_KEYS = ["w2v_h_word", "w2v_h_start", "w2v_h_end", "w2v_h_score"]
register(
    {
        "w2v_h_word": (WORD_HEADERS[0], "单词"),
        "w2v_h_start": (WORD_HEADERS[1], "开始（秒）"),
        "w2v_h_end": (WORD_HEADERS[2], "结束（秒）"),
        "w2v_h_score": (WORD_HEADERS[3], "得分"),
    }
)


# --- ZeroGPU ----------------------------------------------------------------------------------


def gpu_wrap(fn, duration: int = 120):
    """``spaces.GPU(duration=...)(fn)`` on Hugging Face ZeroGPU Spaces (``spaces`` importable), else ``fn``."""
    try:
        import spaces
    except ImportError:
        return fn
    return spaces.GPU(duration=duration)(fn)


def on_start() -> None:
    """Load the default model at start on ZeroGPU Spaces (moved to CUDA there); call after
    ``cache.set_default_device``. Elsewhere models load on first use."""
    if not os.environ.get("SPACES_ZERO_GPU"):
        return
    try:
        w2v_models.load_model(limits.W2V_DEFAULT_MODEL)
    except Exception as err:  # noqa: BLE001 - start anyway: the tab explains when used
        log.warning("wav2vec2 default model not preloaded: %s", err)


# --- helpers ----------------------------------------------------------------------------------


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array, dtype=np.float32))
    return buf.getvalue()


def _json_file(name: str, data: dict) -> str:
    return output_file(name, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def _notes(*groups: list[str]) -> str:
    return notes_markdown([n for group in groups for n in group])


def _load(audio, model_name, chunk_s, context_s):
    """Validate cheap inputs first, then decode: ``(path, decoded)``."""
    w2v_models.check_model_name(model_name)
    w2v.check_chunking(chunk_s, context_s)
    path = require_audio(audio)
    return path, aio.decode(path, max_seconds=limits.W2V_MAX_DURATION_S)


def _emissions(audio, model_name, chunk_s, context_s):
    path, decoded = _load(audio, model_name, chunk_s, context_s)
    em = w2v.emissions(decoded.waveform, decoded.sample_rate, model_name=model_name, chunk_s=chunk_s,
                       context_s=context_s)  # fmt: skip
    spans = w2v.greedy_spans(em)
    return path, decoded, em, spans, w2v.transcript(spans, em.delimiter)


def _result(em: w2v.Emissions, spans: list[w2v.Span], text: str) -> dict:
    return {
        "model": em.model, "transcript": text, "seconds_per_frame": em.seconds_per_frame,
        "duration_s": em.duration_s, "frames": em.log_probs.shape[0], "labels": list(em.labels),
        "blank": em.blank, "tokens": [s.as_dict() for s in spans],
    }  # fmt: skip


# --- handlers ---------------------------------------------------------------------------------


@gpu_wrap
@user_errors
def emissions(audio, model_name, chunk_s, context_s):
    """Frame-wise token log-probabilities (CTC emissions) of a wav2vec2 model and its greedy transcript.

    Args:
        audio: the audio file (at most 25 MB; the first 300 s are used), mixed to mono: an http(s) URL or a file.
        model_name: a model name from list_models, e.g. "WAV2VEC2_ASR_BASE_960H" (CTC models only).
        chunk_s: longer audio runs in chunks of this many seconds, 4 to 60.
        context_s: extra audio each side of a chunk in seconds (dropped after inference), 0 to 10.

    Returns:
        the emission heatmap, the transcript (text), the emissions .npy (frames, tokens) of log-probabilities,
        a transcript JSON file (tokens with start/end seconds and scores), the torchaudio code, notes.
    """
    path, decoded, em, spans, text = _emissions(audio, model_name, chunk_s, context_s)
    model = w2v_models.load_model(model_name)
    return (
        image_file(w2v_figures.emission_image(em, spans, text), "emissions.png"),
        text,
        output_file("emissions.npy", _npy(em.log_probs.numpy())),
        _json_file("transcript.json", _result(em, spans, text)),
        w2v_snippets.emissions_code(Path(path).name, model),
        _notes(decoded.notes, em.notes),
    )


@gpu_wrap
@user_errors
def transcribe(audio, model_name, chunk_s, context_s):
    """Speech to text with a wav2vec2 CTC model (greedy decoding), with token and word timings.

    Args:
        audio: the audio file (at most 25 MB; the first 300 s are used), mixed to mono: an http(s) URL or a file.
        model_name: a model name from list_models, e.g. "WAV2VEC2_ASR_BASE_960H" (CTC models only).
        chunk_s: longer audio runs in chunks of this many seconds, 4 to 60.
        context_s: extra audio each side of a chunk in seconds (dropped after inference), 0 to 10.

    Returns:
        the transcript (text) and a dict: model, transcript, seconds_per_frame, duration_s, frames, labels,
        blank, tokens (each recognised token with its start and end in seconds and its score, 0-1).
    """
    _, _, em, spans, text = _emissions(audio, model_name, chunk_s, context_s)
    return text, _result(em, spans, text)


@gpu_wrap
@user_errors
def align(audio, model_name, text, chunk_s, context_s):
    """Forced alignment of a transcript to audio (torchaudio.functional.forced_align): where each word is.

    Args:
        audio: the audio file (at most 25 MB; the first 300 s are used), mixed to mono: an http(s) URL or a file.
        model_name: a model name from list_models, e.g. "WAV2VEC2_ASR_BASE_960H" (CTC models only).
        text: the transcript to align (at most 2000 characters); empty: the model's own transcript.
        chunk_s: longer audio runs in chunks of this many seconds, 4 to 60.
        context_s: extra audio each side of a chunk in seconds (dropped after inference), 0 to 10.

    Returns:
        the alignment image, the word table (word, start s, end s, score 0-1), an alignment JSON file, the
        torchaudio code, notes.
    """
    path, decoded, em, _, recognised = _emissions(audio, model_name, chunk_s, context_s)
    text = (text or "").strip() or recognised
    if not text:
        raise AudioLabError(
            "Nothing was recognised in this audio: type the transcript to align.",
            zh="在此音频中没有识别出内容：请输入要对齐的文本。",
        )
    words = w2v.align(em, text)
    clean = w2v.tokenize(text, em)[0]
    cut = _analysed(decoded, em)
    image, geometry = w2v_figures.alignment_image(cut, decoded.sample_rate, words)
    rows = [[w.text, round(w.start_s, 3), round(w.end_s, 3), round(w.score, 3)] for w in words]
    data = {"model": em.model, "transcript": clean, "words": [w.as_dict() for w in words]}
    view = alignment_view(path, decoded, em, words)  # the timeline's, from the state (not the API)
    state = {"path": path, "rate": decoded.sample_rate, "geometry": geometry,
             "words": [[w.text, w.start_s, w.end_s] for w in words], "view": view}  # fmt: skip
    code = w2v_snippets.align_code(Path(path).name, w2v_models.load_model(model_name), clean)
    return (
        image_file(image, "alignment.png"),
        table(rows, WORD_KEYS),
        _json_file("alignment.json", data),
        code,
        _notes(decoded.notes, em.notes),
        state,
    )


def _analysed(decoded: aio.Decoded, em: w2v.Emissions) -> torch.Tensor:
    """The audio the emissions cover, ``(channel, time)``."""
    return decoded.waveform[:, : int(em.duration_s * decoded.sample_rate) + 1]


def emissions_timeline(path: str, decoded: aio.Decoded, em: w2v.Emissions, regions: list[dict]) -> dict:
    """The timeline of the analysed clip with ``regions`` over it and the emissions (token
    probabilities) under the same time axis."""
    layer = timeline_layers.emission_layer(em.log_probs, list(em.labels), em.seconds_per_frame)
    clip = timeline.Clip(_analysed(decoded, em), decoded.sample_rate, timeline.label("tl_input"), audio=path,
                         layers=[layer], regions=regions)  # fmt: skip
    return timeline.show([clip])


@user_errors
def emissions_view(audio, model_name, chunk_s, context_s) -> dict:
    """The emissions timeline with the greedy transcript's tokens as regions (the emissions just
    computed are remembered, so this does not run the model again)."""
    path, decoded, em, spans, _ = _emissions(audio, model_name, chunk_s, context_s)
    tokens = timeline_compute.regions([(s.start_s, s.end_s, s.text, s.score) for s in spans], "char")
    return emissions_timeline(path, decoded, em, tokens)


def alignment_view(path: str, decoded: aio.Decoded, em: w2v.Emissions, words: list[w2v.Span]) -> dict:
    """The emissions timeline with word and character regions (click one to hear it)."""
    word_regions = timeline_compute.regions([(w.start_s, w.end_s, w.text, w.score) for w in words], "word")
    chars = [(c.start_s, c.end_s, c.text, c.score) for w in words for c in w.chars]
    return emissions_timeline(path, decoded, em, word_regions + timeline_compute.regions(chars, "char"))


@gpu_wrap
@user_errors
def layer_features(audio, model_name, layer, chunk_s, context_s):
    """The output of one transformer layer of a wav2vec2 model, with a summary of every layer.

    Args:
        audio: the audio file (at most 25 MB; the first 60 s are used), mixed to mono: an http(s) URL or a file.
        model_name: a model name from list_models, e.g. "WAV2VEC2_BASE" (any wav2vec2/HuBERT model).
        layer: the transformer layer, 1 to the model's number of layers (12 for base models, 24 for large).
        chunk_s: longer audio runs in chunks of this many seconds, 4 to 60.
        context_s: extra audio each side of a chunk in seconds (dropped after inference), 0 to 10.

    Returns:
        the layer heatmap, the layer summary image, the features .npy (frames, dim), a summary dict (model,
        layer, layers, frames, dim, seconds_per_frame, rms per layer, cosine similarity of each layer to this
        one), the torchaudio code, notes.
    """
    path, decoded = _load(audio, model_name, chunk_s, context_s)
    lf = w2v.layer_features(decoded.waveform, decoded.sample_rate, model_name=model_name, layer=layer,
                            chunk_s=chunk_s, context_s=context_s)  # fmt: skip
    summary = {
        "model": lf.model, "layer": lf.layer, "layers": lf.rms.shape[0], "frames": lf.features.shape[0],
        "dim": lf.features.shape[1], "seconds_per_frame": lf.seconds_per_frame, "rms": lf.rms.tolist(),
        "similarity_to_layer": lf.similarity[lf.layer - 1].tolist(),
    }  # fmt: skip
    code = w2v_snippets.features_code(Path(path).name, w2v_models.load_model(model_name), lf.layer)
    return (
        image_file(w2v_figures.layer_image(lf), f"layer{lf.layer}.png"),
        image_file(w2v_figures.layer_summary_image(lf), "layers_summary.png"),
        output_file(f"layer{lf.layer}_features.npy", _npy(lf.features.numpy())),
        summary,
        code,
        _notes(decoded.notes, lf.notes),
    )


@user_errors
def play_word(state: dict | None, index: int | None = None, time_s: float | None = None) -> str | None:
    """WAV of the word at ``index``, or of the word at (or nearest) ``time_s``."""
    if not state or not state.get("words"):
        return None
    words = state["words"]
    if index is None:
        index = min(range(len(words)), key=lambda i: max(words[i][1] - time_s, time_s - words[i][2], 0.0))
    _, start_s, end_s = words[int(index)]
    rate = state["rate"]
    start = int(start_s * rate)
    decoded = aio.decode(state["path"], frame_offset=start, num_frames=max(1, int(end_s * rate) - start))
    return audio_file("word.wav", decoded.waveform, rate)


def play_clicked_image(state: dict | None, evt: gr.SelectData):
    """A click on the alignment image plays the word under it."""
    if not state:
        return None
    return play_word(state, time_s=w2v_figures.click_time(evt.index[0], state["geometry"]))


def play_selected_row(state: dict | None, evt: gr.SelectData):
    """Selecting a row of the word table plays that word."""
    return play_word(state, index=evt.index[0]) if state else None


def list_models() -> list[dict]:
    """Every wav2vec2 model the app offers: torchaudio bundles, Hugging Face checkpoints and local folders.

    Returns:
        list of dicts: name (pass it as model_name), label, source, ctc (true: has a CTC head for
        emissions/transcribe/align; null: not known until loaded).
    """
    return [{"name": c.name, "label": c.label, "source": c.source, "ctc": c.ctc} for c in w2v_models.model_choices()]


def cache_status():
    """The model cache panel (hidden from MCP): ``cache.CACHE.snapshot()`` rows and a usage line per device."""
    # no CUDA line on a machine without CUDA
    usage = {d: u for d, u in cache.CACHE.usage().items() if u["entries"] or d == "cpu" or torch.cuda.is_available()}
    if request_language().lower().startswith("zh"):
        line = "；".join(f"{d}：{u['entries']} 项，{u['megabytes']:.1f} / {u['budget_megabytes']:.0f} MB"
                        for d, u in usage.items())  # fmt: skip
        return cache.CACHE.snapshot(), f"新条目所用设备：**{cache.default_device()}**。{line}。"
    line = "; ".join(f"{d}: {u['entries']} entries, {u['megabytes']:.1f} of {u['budget_megabytes']:.0f} MB"
                     for d, u in usage.items())  # fmt: skip
    return cache.CACHE.snapshot(), f"Device for new entries: **{cache.default_device()}**. {line}."


def model_options(language: str = "en") -> list[tuple[str, str]]:
    """``(label, name)`` of every model, each label saying whether it works offline (weights cached)."""
    marks = {True: text("w2v_cached", language), False: text("w2v_download", language), None: ""}
    return [(f"{c.label} {marks[w2v_models.cached(c.name)]}".rstrip(), c.name) for c in w2v_models.model_choices()]


def _refresh_models(current: str):
    choices = model_options(request_language())
    value = current if current in [n for _, n in choices] else limits.W2V_DEFAULT_MODEL
    return gr.update(choices=choices, value=value)


def layer_slider(name: str, current: float | None):
    """The layer slider for model ``name``: its range, and the current layer clamped into it."""
    try:
        layers = w2v_models.describe(name)["layers"]
    except Exception:  # noqa: BLE001 - unknown until loaded: keep the full range
        layers = None
    most = layers or limits.W2V_MAX_LAYERS
    return gr.update(maximum=most, value=min(max(int(current or 1), 1), most))


@user_errors
def emissions_recipe(model_name, chunk_s, context_s):
    """The wav2vec2 emissions settings as a batch recipe file, for the batch tool or ``python -m audiolab.batch``.

    Args:
        model_name: a CTC model name from list_models (e.g. WAV2VEC2_ASR_BASE_960H).
        chunk_s: chunk length in seconds, 4 to 60 (long audio runs in chunks).
        context_s: extra audio each side of a chunk in seconds, 0 to 10.

    Returns:
        recipe_emissions.json: {"version": 1, "wav2vec2": "emissions", "model": ..., "chunk_s": ..., "context_s": ...}.
    """
    return recipe_file(recipes.wav2vec2_recipe("emissions", model_name, chunk_s, context_s), "recipe_emissions.json")


@user_errors
def layer_features_recipe(model_name, chunk_s, context_s, layer):
    """The wav2vec2 layer-features settings as a batch recipe file, for the batch tool or ``python -m audiolab.batch``.

    Args:
        model_name: a model name from list_models (CTC or pre-trained only, e.g. WAV2VEC2_BASE).
        chunk_s: chunk length in seconds, 4 to 60 (long audio runs in chunks).
        context_s: extra audio each side of a chunk in seconds, 0 to 10.
        layer: transformer layer, 1 to the model's number of layers (at most 48).

    Returns:
        recipe_layerN.json: {"version": 1, "wav2vec2": "layer_features", "model": ..., "layer": ..., "chunk_s": ..., "context_s": ...}.
    """  # noqa: E501 - Gradio reads each parameter's description from one line
    recipe = recipes.wav2vec2_recipe("layer_features", model_name, chunk_s, context_s, layer)
    return recipe_file(recipe, f"recipe_layer{recipe['layer']}.json")


# --- layout -----------------------------------------------------------------------------------


def build(shared: dict) -> None:
    """Lay out the wav2vec2 tab inside the current ``gr.Tab``."""
    with gr.Row():
        with gr.Column(scale=2):
            audio_in = audio_input(t("w2v_input"), "wav2vec2-input")
            with gr.Row():
                model = gr.Dropdown(model_options(),
                                    value=limits.W2V_DEFAULT_MODEL, label=t("w2v_model"), allow_custom_value=True,
                                    scale=4, elem_id="wav2vec2-model")  # fmt: skip
                refresh = gr.Button(t("w2v_refresh"), scale=1, size="sm", elem_id="wav2vec2-refresh")
            gr.Markdown(t("w2v_model_help"))
            with gr.Accordion(t("w2v_long"), open=False):
                chunk = gr.Slider(*limits.W2V_CHUNK_RANGE, value=limits.W2V_CHUNK_S, step=1, label=t("w2v_chunk"))
                context = gr.Slider(*limits.W2V_CONTEXT_RANGE, value=limits.W2V_CONTEXT_S, step=0.5,
                                    label=t("w2v_context"))  # fmt: skip
            run = gr.Button(t("w2v_run"), variant="primary", elem_id="wav2vec2-run")
            with gr.Accordion(t("w2v_cache"), open=False):
                cache_md = gr.Markdown()
                cache_rows = gr.JSON(elem_id="wav2vec2-cache")
                cache_btn = gr.Button(t("w2v_cache_refresh"), size="sm")
        with gr.Column(scale=3):
            notes = notes_area("wav2vec2-notes")
            view = timeline.timeline("wav2vec2-timeline", label=t("tl_label"))  # emissions, then the alignment
            with gr.Tabs():
                with gr.Tab(t("w2v_tab_emission")):
                    emission_img = described_figure(t("w2v_emission"), "wav2vec2-emission")
                    text_out = gr.Textbox(label=t("w2v_transcript"), interactive=False, elem_id="wav2vec2-transcript")
                    with gr.Row():
                        npy_file = gr.File(label=t("w2v_emission_file"), elem_id="wav2vec2-npy")
                        json_file = gr.File(label=t("w2v_transcript_file"))
                with gr.Tab(t("w2v_tab_align")):
                    align_text = gr.Textbox(label=t("w2v_align_text"), lines=2, elem_id="wav2vec2-align-text")
                    align_btn = gr.Button(t("w2v_align_run"), elem_id="wav2vec2-align")
                    align_img = described_figure(t("w2v_alignment"), "wav2vec2-alignment", interactive=False)
                    segment = gr.Audio(label=t("w2v_segment"), type="filepath", autoplay=True, interactive=False,
                                       elem_id="wav2vec2-segment")  # fmt: skip
                    words = gr.Dataframe(headers=WORD_HEADERS, label=t("w2v_words"), interactive=False,
                                         elem_id="wav2vec2-words")  # fmt: skip
                    per_language([words], lambda lang: empty_table(WORD_KEYS, lang))
                    align_file = gr.File(label=t("w2v_alignment_file"))
                with gr.Tab(t("w2v_tab_layers")):
                    layer = gr.Slider(
                        1, limits.W2V_MAX_LAYERS, value=6, step=1, label=t("w2v_layer"), elem_id="wav2vec2-layer"
                    )
                    layer_btn = gr.Button(t("w2v_layer_run"), elem_id="wav2vec2-layer-run")
                    layer_img = described_figure(t("w2v_layer_image"), "wav2vec2-layer-image")
                    summary_img = described_figure(t("w2v_layer_summary"), "wav2vec2-layer-summary")
                    layer_file = gr.File(label=t("w2v_layer_file"))
                    layer_recipe_btn, layer_recipe_out = recipe_widgets("wav2vec2-layer-recipe")
                    layer_json = gr.JSON(visible=False)
            with gr.Accordion(t("code_panel"), open=False):
                code = gr.Code(language="python", elem_id="wav2vec2-code")
                notebook_button(code, "wav2vec2", "wav2vec2-notebook")
            recipe_btn, recipe_out = recipe_widgets("wav2vec2-recipe")
    _wire(locals(), shared)


def _wire(c: dict, shared: dict) -> None:
    """Events: every one that matters has an ``api_name``."""
    w2v_in = [c["model"], c["chunk"], c["context"]]
    c["recipe_btn"].click(emissions_recipe, w2v_in, c["recipe_out"], api_name="emissions_recipe")
    c["layer_recipe_btn"].click(layer_features_recipe, [*w2v_in, c["layer"]], c["layer_recipe_out"],
                                api_name="layer_features_recipe")  # fmt: skip
    common = [c["audio_in"], c["model"], c["chunk"], c["context"]]
    state = gr.State()
    run_out = [c["emission_img"], c["text_out"], c["npy_file"], c["json_file"], c["code"], c["notes"]]
    ran = c["run"].click(emissions, common, run_out, api_name="emissions")
    keep_notes(ran, c["notes"], emissions)
    ran.success(emissions_view, common, c["view"], api_name=False)
    hidden = gr.Button(visible=False)
    result = gr.JSON(visible=False)
    hidden.click(transcribe, common, [c["text_out"], result], api_name="transcribe")
    align_in = [c["audio_in"], c["model"], c["align_text"], c["chunk"], c["context"]]
    align_out = [c["align_img"], c["words"], c["align_file"], c["code"], c["notes"], state]
    aligned = c["align_btn"].click(align, align_in, align_out, api_name="align")
    keep_notes(aligned, c["notes"], align)
    aligned.success(lambda s: (s or {}).get("view"), state, c["view"], api_name=False, queue=False)
    layer_in = [c["audio_in"], c["model"], c["layer"], c["chunk"], c["context"]]
    layer_out = [c["layer_img"], c["summary_img"], c["layer_file"], c["layer_json"], c["code"], c["notes"]]
    event = c["layer_btn"].click(layer_features, layer_in, layer_out, api_name="layer_features")
    keep_notes(event, c["notes"], layer_features)
    c["align_img"].select(play_clicked_image, state, c["segment"], api_name=False)
    c["words"].select(play_selected_row, state, c["segment"], api_name=False)
    c["refresh"].click(_refresh_models, c["model"], c["model"], api_name=False)
    c["model"].change(layer_slider, [c["model"], c["layer"]], c["layer"], api_name=False)
    models_json = gr.JSON(visible=False)
    hidden.click(list_models, None, models_json, api_name="list_models")
    c["cache_btn"].click(cache_status, None, [c["cache_rows"], c["cache_md"]], api_name="cache_status",
                         api_visibility="undocumented")  # fmt: skip
    per_language([c["model"]], lambda lang: gr.update(choices=model_options(lang)))
    per_language([c["cache_rows"], c["cache_md"]], lambda _: cache_status())  # filled at page load, not empty
    follow_audio(shared, c["audio_in"])
