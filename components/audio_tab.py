"""Audio tab: upload/record/URL, metadata, waveform and spectrogram, slice, resample, export."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from audiolab.audio import snippets as audio_snippets
from audiolab.core import io as aio
from audiolab.core import limits, plots, urlfetch
from audiolab.core.errors import Note
from components import timeline
from components.common import (
    audio_file,
    audio_input,
    described_figure,
    empty_table,
    image_file,
    keep_notes,
    notes_area,
    notes_markdown,
    output_file,
    per_language,
    require_audio,
    table,
    user_errors,
)
from components.compare_tab import build_compare
from components.i18n import register, t, text
from components.notebooks import notebook_button

ORIGINAL = "original"
META_HEADERS = ["meta_field", "meta_value"]

register(
    {
        "audio_input": ("Input audio (upload or record)", "输入音频（上传或录音）"),
        "url_box": ("…or load from a URL (http/https, up to 25 MB)", "……或从网址加载（http/https，最大 25 MB）"),
        "url_button": ("Load URL", "加载网址"),
        "examples": ("Examples (synthesized by us)", "示例（我们自己合成）"),
        "frame_offset": ("Frame offset (samples skipped at the start)", "起始帧偏移（跳过的采样点数）"),
        "num_frames": ("Number of frames (-1 = to the end)", "帧数（-1 表示直到结尾）"),
        "resample_to": ("Resample to (Hz)", "重采样到（Hz）"),
        "export_format": ("Export format", "导出格式"),
        "wav_bits": ("WAV bit depth", "WAV 位深"),
        "analyse": ("Load & analyse", "加载并分析"),
        "metadata": ("Metadata (what torchaudio.info printed)", "元数据（torchaudio.info 曾输出的内容）"),
        "notes": ("Notes", "说明"),
        "waveform": ("Waveform", "波形"),
        "spectrogram": ("Spectrogram", "频谱图"),
        "result_audio": ("Result (play)", "结果（播放）"),
        "download": ("Download", "下载"),
        "metadata_json": ("Metadata (JSON)", "元数据（JSON）"),
        "meta_field": ("field", "字段"),
        "meta_value": ("value", "值"),
        "slice_help": (
            "Slicing seeks in the file and decodes only the frames asked for.",
            "切片会在文件中定位，只解码所需的帧。",
        ),
    }
)


def metadata_rows(meta: aio.AudioInfo, decoded: aio.Decoded | None = None) -> list[list[str]]:
    """Field/value rows for the metadata table."""
    rows = [[k, str(v)] for k, v in meta.as_dict().items()]
    rows.append(["torchaudio.info", meta.torchaudio_repr()])
    if decoded is not None:
        rows.append(
            ["loaded", f"{decoded.waveform.shape[-1]} frames from {decoded.frame_offset} ({decoded.duration_s:.3f} s)"]
        )
    return rows


@user_errors
def info(audio: str | None) -> dict:
    """The metadata of an audio file (header only, nothing decoded), as ``torchaudio.info`` gave it.

    Args:
        audio: the audio file (WAV, FLAC, MP3, OGG, ...; at most 25 MB): an http(s) URL or an uploaded file.

    Returns:
        dict: sample_rate (Hz), num_frames (samples per channel), num_channels, duration_s, bits_per_sample, encoding.
    """
    return aio.info(require_audio(audio)).as_dict()


@user_errors
def load_url(url: str) -> str:
    """Download audio from a public http(s) URL for the Audio tab's player (at most 25 MB, 20 s).

    Only serves the browser (hidden from MCP): agents pass URLs to the tools' ``audio`` directly.
    """
    data = urlfetch.fetch_url(url)
    meta = aio.info(data)  # refuse non-audio before handing it to the player
    suffix = meta.container if meta.container in ("wav", "flac", "mp3", "ogg") else "bin"
    return output_file(f"download.{suffix}", data)


@user_errors
def load_audio(audio, frame_offset, num_frames, resample_to, export_format, wav_bits):
    """Decode a slice of an audio file with torchaudio, optionally resample it, plot it and export it.

    Args:
        audio: the audio file (at most 25 MB, 600 s decoded): an http(s) URL or an uploaded file.
        frame_offset: samples per channel skipped at the start (integer >= 0; 0 = from the start).
        num_frames: samples per channel to decode (integer; -1 = to the end).
        resample_to: target sample rate in Hz, one of "original", "8000", "16000", "22050", "44100", "48000", ...
        export_format: format of the exported file: "wav", "flac", "mp3" or "ogg".
        wav_bits: WAV sample format: 16, 24, 32 (integer PCM) or "float" (32-bit float).

    Returns:
        metadata rows (table), notes (markdown), waveform image, spectrogram image, the result as WAV for the
        player, the exported file, the torchaudio code that reproduces it, and the metadata dict (sample_rate,
        num_frames, num_channels, duration_s, bits_per_sample, encoding).
    """
    path = require_audio(audio)
    fmt = limits.check_choice("export format", export_format, limits.EXPORT_FORMATS)
    bits = wav_bits if wav_bits == "float" else int(limits.check_number("bits", wav_bits, 8, 32, integer=True))
    decoded = aio.decode(path, frame_offset=frame_offset, num_frames=num_frames)
    waveform, rate = decoded.waveform, decoded.sample_rate
    target = (
        None if resample_to in (None, "", ORIGINAL) else int(limits.check_number("resample_to", resample_to, 1, 1e6))
    )
    if target:
        waveform = aio.resample(waveform, rate, target, decoded.notes)
        decoded.notes.append(Note(
            f"Resampled from {rate} Hz to {target} Hz: the result and the download are at {target} Hz.",
            zh=f"已从 {rate} Hz 重采样到 {target} Hz：结果与下载文件均为 {target} Hz。",
        ))  # fmt: skip
        rate = target
    playable, play_rate = aio.for_playback(waveform, rate, decoded.notes)
    player = audio_file("result.wav", playable, play_rate, bits=16)
    exported = audio_file(f"result.{fmt}", waveform, rate, bits=bits)
    code = audio_snippets.info_snippet(Path(path).name) + "\n" + audio_snippets.load_snippet(
        Path(path).name, frame_offset=int(frame_offset), num_frames=int(num_frames),
        target_rate=target, out_path=f"result.{fmt}",
    )  # fmt: skip
    notes = notes_markdown(decoded.notes)
    return (
        table(metadata_rows(decoded.info, decoded), META_HEADERS),
        notes,
        image_file(plots.waveform_image(waveform, rate), "waveform.png"),
        image_file(plots.spectrogram_image(waveform, rate), "spectrogram.png"),
        player,
        exported,
        code,
        decoded.info.as_dict(),
    )


@user_errors
def result_view(result: str | None) -> dict | None:
    """The timeline of the result the player holds (None when there is none)."""
    if not result:
        return None
    return timeline.show([timeline.clip_from_file(result, timeline.label("tl_result"))])


def analyse_if_any(audio, *rest):
    """Run :func:`load_audio` when the input holds audio (not when it was just cleared)."""
    if not audio:
        return [gr.skip()] * 8
    return load_audio(audio, *rest)


def build(shared: dict) -> None:
    """Lay out the Audio tab inside the current ``gr.Tab``; puts the result player in ``shared``."""
    with gr.Row():
        with gr.Column(scale=2):
            audio_in = audio_input(t("audio_input"), "audio-input", t("examples"))
            with gr.Row():
                url = gr.Textbox(label=t("url_box"), placeholder="https://…/clip.wav", scale=4, elem_id="audio-url")
                url_btn = gr.Button(t("url_button"), scale=1)
            gr.Markdown(t("slice_help"))
            with gr.Row():
                # no minimum here: the engine's check names the field ("num_frames=-7 is out of range ...")
                frame_offset = gr.Number(0, label=t("frame_offset"), precision=0, elem_id="frame-offset")
                num_frames = gr.Number(-1, label=t("num_frames"), precision=0, elem_id="num-frames")
            with gr.Row():
                resample_to = gr.Dropdown(
                    [ORIGINAL, *[str(r) for r in limits.RESAMPLE_TARGETS]], value=ORIGINAL, label=t("resample_to")
                )
                export_format = gr.Radio(list(limits.EXPORT_FORMATS), value="wav", label=t("export_format"))
                wav_bits = gr.Dropdown(
                    ["16", "24", "32", "float"], value="16", label=t("wav_bits"), elem_id="audio-wav-bits"
                )
            run = gr.Button(t("analyse"), variant="primary", elem_id="audio-run")
        with gr.Column(scale=3):
            notes = notes_area("audio-notes")
            view = timeline.timeline("audio-timeline", label=t("tl_label"))
            metadata = gr.Dataframe(
                headers=[text(k) for k in META_HEADERS], label=t("metadata"), interactive=False, wrap=True,
                elem_id="audio-metadata",
            )  # fmt: skip
            per_language([metadata], lambda lang: empty_table(META_HEADERS, lang))
            wave_img = described_figure(t("waveform"), "audio-waveform")
            spec_img = described_figure(t("spectrogram"), "audio-spectrogram")
            result = gr.Audio(label=t("result_audio"), type="filepath", interactive=False, elem_id="audio-result")
            download = gr.File(label=t("download"), elem_id="audio-download")
            with gr.Accordion(t("code_panel"), open=False):
                code = gr.Code(language="python", elem_id="audio-code")
                notebook_button(code, "audio", "audio-notebook")
            with gr.Accordion(t("metadata_json"), open=False):
                meta_json = gr.JSON()
            build_compare(shared, prefix="audio-cmp", audio_a=audio_in)  # API: compare
    shared["audio"] = result

    inputs = [audio_in, frame_offset, num_frames, resample_to, export_format, wav_bits]
    outputs = [metadata, notes, wave_img, spec_img, result, download, code, meta_json]
    loaded = run.click(load_audio, inputs, outputs, api_name="load_audio")
    keep_notes(loaded, notes, load_audio)
    loaded.success(result_view, result, view, api_name=False)
    changed = audio_in.change(analyse_if_any, inputs, outputs, api_name=False)
    keep_notes(changed, notes, load_audio)
    changed.success(result_view, result, view, api_name=False)
    export_format.change(lambda f: gr.update(visible=f == "wav"), export_format, wav_bits, api_name=False)
    info_btn = gr.Button(visible=False)
    info_btn.click(info, audio_in, meta_json, api_name="info")
    fetched = url_btn.click(load_url, url, audio_in, api_name="load_url", api_visibility="undocumented")
    keep_notes(fetched, notes, load_url)
    from_url = fetched.success(load_audio, inputs, outputs, api_name=False)
    keep_notes(from_url, notes, load_audio)
    from_url.success(result_view, result, view, api_name=False)
