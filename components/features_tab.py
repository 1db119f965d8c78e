"""Features tab: torchaudio features of an audio file, plotted, downloadable, reproducible.

API names (inputs -> outputs), see README:
- ``features(audio, feature, params)`` -> figure (PNG), feature ``.npy``, ``.pt`` (dict: feature
  tensor, name, dims, params, sample_rate, torchaudio_version), torchaudio code, summary dict
  (shape, dims, dtype, min, max, mean, params, notes, ...). ``feature`` is one of
  ``audiolab.features.FEATURES``; ``params`` is a JSON object (string or dict) whose missing
  keys take their defaults.
- ``feature_params(feature)`` -> ``{"feature", "dims", "defaults"}``: the keys a feature reads.
"""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from audiolab.batch import recipes
from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from audiolab.features import compute as ft
from audiolab.features import figures as features_figures
from audiolab.features import librosa_bridge
from audiolab.features import snippets as features_snippets
from audiolab.timeline import layers as timeline_layers
from components import timeline
from components.batch_tab import recipe_file, recipe_widgets
from components.common import (
    audio_input,
    choices_in,
    described_figure,
    follow_audio,
    image_file,
    keep_notes,
    notes_area,
    notes_markdown,
    output_file,
    per_language,
    request_language,
    require_audio,
    user_errors,
)
from components.i18n import register, t
from components.librosa_panel import comparison_markdown, librosa_checkbox, librosa_outputs, unsupported_markdown
from components.notebooks import notebook_button

ORIGINAL = "original"
DEFAULT_FEATURE = "mel_spectrogram"
CHOICES = [
    ("Spectrogram (T.Spectrogram)", "spectrogram"),
    ("Mel spectrogram (T.MelSpectrogram)", "mel_spectrogram"),
    ("Mel filterbank (F.melscale_fbanks)", "mel_filterbank"),
    ("MFCC (T.MFCC)", "mfcc"),
    ("LFCC (T.LFCC)", "lfcc"),
    ("Deltas (F.compute_deltas)", "deltas"),
    ("Sliding-window CMN (F.sliding_window_cmn)", "cmn"),
    ("Spectral centroid (T.SpectralCentroid)", "spectral_centroid"),
    ("Loudness (F.loudness, ITU-R BS.1770)", "loudness"),
    ("Pitch (F.detect_pitch_frequency)", "pitch_detect"),
    ("Pitch + voicing (NCCF tracker)", "pitch_nccf"),
]
_EN_LABELS = {value: label for label, value in CHOICES}

register(
    {
        "feat_input": ("Input audio (upload or record)", "输入音频（上传或录音）"),
        "feat_name": ("Feature", "特征"),
        "feat_params": ("Parameters", "参数"),
        "feat_run": ("Compute", "计算"),
        "feat_figure": ("Figure", "图"),
        "feat_npy": ("Feature (.npy)", "特征（.npy）"),
        "feat_pt": ("Feature + parameters (.pt)", "特征与参数（.pt）"),
        "feat_summary": ("Summary (shape, min, max, mean, parameters)", "摘要（形状、最小值、最大值、均值、参数）"),
        "feat_notes": ("Notes", "说明"),
        "feat_help": (
            "Each feature is computed per channel with torchaudio on the server's device; the code panel "
            "reproduces the downloaded tensor. Only the parameters the chosen feature uses are shown.",
            "每个特征都在服务器设备上用 torchaudio 按声道计算；代码面板可复现下载的张量。只显示所选特征用到的参数。",
        ),
        "feat_sample_rate": ("sample_rate (resample to, Hz)", "sample_rate（重采样到，Hz）"),
        "feat_n_fft": ("n_fft (FFT size, samples)", "n_fft（FFT 点数，采样点）"),
        "feat_win_length": ("win_length (samples, 0 = n_fft)", "win_length（采样点，0 表示 n_fft）"),
        "feat_hop_length": (
            "hop_length (samples, 0 = win_length // 2)",
            "hop_length（采样点，0 表示 win_length // 2）",
        ),
        "feat_center": ("center", "center（帧居中）"),
        "feat_pad_mode": ("pad_mode", "pad_mode（填充方式）"),
        "feat_normalized": ("normalized", "normalized（归一化）"),
        "feat_power": ("power (None = complex: magnitude and phase)", "power（None 表示复数：幅度与相位）"),
        "feat_db": ("dB (AmplitudeToDB)", "dB 显示（AmplitudeToDB）"),
        "feat_top_db": ("top_db (dB below the peak, 0 = no floor)", "top_db（低于峰值的 dB，0 表示不设下限）"),
        "feat_f_min": ("f_min (Hz)", "f_min（Hz）"),
        "feat_f_max": ("f_max (Hz, 0 = sample_rate / 2)", "f_max（Hz，0 表示 sample_rate / 2）"),
        "feat_n_mels": ("n_mels (mel filters)", "n_mels（梅尔滤波器数）"),
        "feat_mel_norm": ("norm of the mel filters", "梅尔滤波器的 norm"),
        "feat_mel_scale": ("mel_scale", "mel_scale（梅尔刻度）"),
        "feat_n_mfcc": ("n_mfcc (coefficients)", "n_mfcc（系数个数）"),
        "feat_dct_norm": ("DCT norm", "DCT 归一化"),
        "feat_log_mels": ("log_mels", "log_mels（对数）"),
        "feat_n_filter": ("n_filter (linear filters)", "n_filter（线性滤波器数）"),
        "feat_n_lfcc": ("n_lfcc (coefficients)", "n_lfcc（系数个数）"),
        "feat_log_lf": ("log_lf", "log_lf（对数）"),
        "feat_base": ("Computed on (base feature)", "计算对象（基础特征）"),
        "feat_delta_win_length": ("win_length of the deltas (frames)", "差分的 win_length（帧）"),
        "feat_delta_mode": ("Padding mode of the deltas", "差分的填充方式"),
        "feat_delta_order": ("Order (1 = deltas, 2 = + delta-deltas)", "阶数（1 为一阶差分，2 再加二阶）"),
        "feat_cmn_window": ("cmn_window (frames)", "cmn_window（帧）"),
        "feat_min_cmn_window": ("min_cmn_window (frames)", "min_cmn_window（帧）"),
        "feat_cmn_center": ("center (CMN)", "center（CMN 窗口居中）"),
        "feat_norm_vars": ("norm_vars", "norm_vars（归一化方差）"),
        "feat_frame_time": ("frame_time (s)", "frame_time（秒）"),
        "feat_median_win": ("win_length of the median smoothing (frames)", "中值平滑的 win_length（帧）"),
        "feat_freq_low": ("freq_low (Hz)", "freq_low（最低频率，Hz）"),
        "feat_freq_high": ("freq_high (Hz)", "freq_high（最高频率，Hz）"),
        "feat_min_f0": ("min_f0 (Hz)", "min_f0（Hz）"),
        "feat_max_f0": ("max_f0 (Hz)", "max_f0（Hz）"),
        "feat_frame_length_ms": ("frame_length (ms)", "frame_length（毫秒）"),
        "feat_frame_shift_ms": ("frame_shift (ms)", "frame_shift（毫秒）"),
        "feat_voicing_threshold": ("Voicing threshold (NCCF)", "浊音阈值（NCCF）"),
        "feat_reset": ("Reset to this feature's defaults", "恢复此特征的默认参数"),
        "feat_choice_spectrogram": (_EN_LABELS["spectrogram"], "频谱图（T.Spectrogram）"),
        "feat_choice_mel_spectrogram": (_EN_LABELS["mel_spectrogram"], "梅尔频谱图（T.MelSpectrogram）"),
        "feat_choice_mel_filterbank": (_EN_LABELS["mel_filterbank"], "梅尔滤波器组（F.melscale_fbanks）"),
        "feat_choice_mfcc": (_EN_LABELS["mfcc"], "MFCC 梅尔倒谱系数（T.MFCC）"),
        "feat_choice_lfcc": (_EN_LABELS["lfcc"], "LFCC 线性倒谱系数（T.LFCC）"),
        "feat_choice_deltas": (_EN_LABELS["deltas"], "差分（F.compute_deltas）"),
        "feat_choice_cmn": (_EN_LABELS["cmn"], "滑动窗口倒谱均值归一化（F.sliding_window_cmn）"),
        "feat_choice_spectral_centroid": (_EN_LABELS["spectral_centroid"], "谱质心（T.SpectralCentroid）"),
        "feat_choice_loudness": (_EN_LABELS["loudness"], "响度（F.loudness，ITU-R BS.1770）"),
        "feat_choice_pitch_detect": (_EN_LABELS["pitch_detect"], "音高（F.detect_pitch_frequency）"),
        "feat_choice_pitch_nccf": (_EN_LABELS["pitch_nccf"], "音高与清浊音（NCCF 跟踪器）"),
    }
)


# --- handlers -------------------------------------------------------------------------------------


def parse_params(params: object) -> dict:
    """A params dict from the API's JSON string (or dict); empty means all defaults."""
    if params is None or params == "":
        return {}
    if isinstance(params, dict):
        return params
    try:
        value = json.loads(str(params))
    except json.JSONDecodeError as err:
        raise AudioLabError(
            f'params must be a JSON object like {{"n_fft": 512}}: {err.msg}.',
            zh=f'params 必须是形如 {{"n_fft": 512}} 的 JSON 对象：{err.msg}。',
        ) from None
    if not isinstance(value, dict):
        raise AudioLabError(
            f"params must be a JSON object, got {type(value).__name__}.",
            zh=f"params 必须是 JSON 对象，实际为 {type(value).__name__}。",
        )
    return value


def feature_result(audio, feature: str, params: dict) -> tuple[str, ft.FeatureResult]:
    """Check, decode and compute: the file's path and the result."""
    path = require_audio(audio)
    meta = aio.info(path)  # header only: parameters are checked before decoding
    frames = meta.num_frames or int(limits.FEAT_MAX_DURATION_S * meta.sample_rate)
    ft.check_request(feature, params, sample_rate=meta.sample_rate, channels=meta.num_channels, frames=frames)
    decoded = aio.decode(path, max_seconds=limits.FEAT_MAX_DURATION_S, max_samples=limits.FEAT_MAX_INPUT_SAMPLES)
    result = ft.compute(decoded.waveform, decoded.sample_rate, feature, params)
    result.notes[:0] = decoded.notes
    return path, result


def run_feature(audio, feature, params: dict) -> tuple:
    """Check, decode, compute, draw and write files: the five API outputs."""
    feature = ft.check_feature(feature)
    return feature_outputs(*feature_result(audio, feature, params))


def feature_view(path: str, result: ft.FeatureResult) -> dict:
    """The timeline of the analysed clip with the feature as its layer (or overlay)."""
    layers, overlays = timeline_layers.feature_layers(result)
    clip = timeline.Clip(result.waveform, result.sample_rate, timeline.label("tl_input"), audio=path, layers=layers,
                         overlays=overlays)  # fmt: skip
    return timeline.show([clip])


def feature_outputs(path: str, result: ft.FeatureResult) -> tuple:
    """Draw and write files of a computed feature: the five API outputs."""
    feature = result.name
    return (
        image_file(features_figures.figure(result), f"{feature}.png"),
        output_file(f"{feature}.npy", ft.to_npy(result)),
        output_file(f"{feature}.pt", ft.to_pt(result)),
        features_snippets.feature_snippet(result, Path(path).name),
        ft.summary(result),
    )


@user_errors
def features(audio, feature, params):
    """Compute an audio feature with torchaudio (spectrogram, mel, MFCC, pitch, ...) per channel, with statistics.

    Args:
        audio: the audio file (at most 25 MB; the first 180 s are used): an http(s) URL or an uploaded file.
        feature: one of spectrogram, mel_spectrogram, mel_filterbank, mfcc, lfcc, deltas, cmn, spectral_centroid, loudness, pitch_detect, pitch_nccf.
        params: JSON object of the feature's parameters (names, units, defaults: feature_params); missing keys: defaults.

    Returns:
        the figure, the feature .npy, a .pt (tensor + parameters), the torchaudio code that reproduces it, and a
        summary dict: shape, dims (e.g. "(channel, n_mels, time)"), dtype, min, max, mean, params, notes.
    """  # noqa: E501 - Gradio reads each parameter's description from one line
    return run_feature(audio, feature, parse_params(params))


def run_comparison(audio, feature, params: dict) -> tuple:
    """The feature and librosa's equivalent: figure, conventions (markdown), both codes, differences."""
    feature = ft.check_feature(feature)
    librosa_bridge.check_supported(feature)
    path, result = feature_result(audio, feature, params)
    comparison = librosa_bridge.compare(result)
    stats = comparison.stats()
    return (
        image_file(librosa_bridge.figure(comparison), f"{feature}_vs_librosa.png"),
        comparison_markdown(stats, request_language()),
        features_snippets.feature_snippet(result, Path(path).name),
        comparison.code.replace("'input.wav'", repr(Path(path).name)),
        stats,
    )


@user_errors
def compare_librosa(audio, feature, params):
    """Compute a feature with torchaudio and with librosa (conventions matched), and how far apart they are.

    Args:
        audio: the audio file (at most 25 MB; the first 180 s are used): an http(s) URL or an uploaded file.
        feature: one of spectrogram, mel_spectrogram, mfcc, spectral_centroid, deltas, pitch_detect, pitch_nccf.
        params: JSON object of the feature's parameters, as for the features tool; missing keys: defaults.

    Returns:
        a figure (torchaudio, librosa, their difference), the conventions table (markdown), the torchaudio code,
        the librosa code, and a dict: max_abs_difference, max_rel_difference (to torchaudio's largest value),
        mean_abs_difference, comparable (false for pitch: different algorithms), conventions, librosa_seconds.
    """
    return run_comparison(audio, feature, parse_params(params))


@user_errors
def feature_params(feature):
    """The parameters a feature reads (for the features tool's ``params``), their defaults, and its dims.

    Args:
        feature: one of spectrogram, mel_spectrogram, mel_filterbank, mfcc, lfcc, deltas, cmn, spectral_centroid, loudness, pitch_detect, pitch_nccf.

    Returns:
        dict: feature, dims (the result's axes), defaults (parameter name -> default value; null = automatic).
    """  # noqa: E501 - Gradio reads each parameter's description from one line
    feature = ft.check_feature(feature)
    return {"feature": feature, "dims": ft.DIMS[feature], "defaults": ft.default_params(feature)}


@user_errors
def features_recipe(feature, params):
    """The Features settings as a batch recipe file, for the batch tool or ``python -m audiolab.batch``.

    Args:
        feature: one of spectrogram, mel_spectrogram, mel_filterbank, mfcc, lfcc, deltas, cmn, spectral_centroid, loudness, pitch_detect, pitch_nccf.
        params: JSON object of the feature's parameters, as for the features tool; missing keys: defaults.

    Returns:
        recipe_<feature>.json: {"version": 1, "feature": ..., "params": {every parameter the feature reads, resolved}}.
    """  # noqa: E501 - Gradio reads each parameter's description from one line
    feature = ft.check_feature(feature)
    return recipe_file(recipes.feature_recipe(feature, parse_params(params)), f"recipe_{feature}.json")


def visible_keys(feature: str, base: str) -> set[str]:
    """Parameter controls shown for ``feature`` (deltas and CMN: those of their base feature)."""
    keys = set(ft.PARAMS.get(feature, ())) | {"sample_rate"}
    if feature in ("deltas", "cmn"):
        own = {k for k in keys if k.startswith(("delta_", "cmn_", "min_cmn")) or k == "norm_vars"}
        keys = own | {"base", "sample_rate"} | set(ft.PARAMS[base])
    return keys


def ui_params(feature: str, values: dict) -> dict:
    """Widget values -> engine params (only the keys the feature reads)."""
    keys = visible_keys(feature, values.get("base") or "mfcc")
    params = {k: v for k, v in values.items() if k in keys}
    if params.get("sample_rate") in (None, "", ORIGINAL):
        params["sample_rate"] = None
    return params


# --- layout --------------------------------------------------------------------------------------


def widget_default(key: str) -> object:
    """The value a parameter widget starts with (the engine's default, as the widget shows it)."""
    if key == "sample_rate":
        return ORIGINAL
    if key == "power":
        return "2"
    if key in ("mel_norm", "dct_norm"):
        return {"mel_norm": "none", "dct_norm": "ortho"}[key]
    value = ft.DEFAULTS[key]
    return value if isinstance(value, (bool, str)) else value or 0  # None (automatic) shows as 0


def _controls(feature: str) -> dict:
    """Every parameter widget, keyed by parameter name, in rows by topic (those ``feature`` reads shown)."""
    d, c, shown = ft.DEFAULTS, {}, visible_keys(feature, str(ft.DEFAULTS["base"]))

    def kw(key: str) -> dict:
        return {"label": t(f"feat_{key}"), "elem_id": f"features-{key}", "visible": key in shown}

    def numbers(*keys: str, precision: int | None = 0) -> None:
        for key in keys:
            c[key] = gr.Number(d[key] or 0, precision=precision, **kw(key))

    def boxes(*keys: str) -> None:
        for key in keys:
            c[key] = gr.Checkbox(bool(d[key]), **kw(key))

    def drop(key: str, choices: list, value: object, **extra) -> None:
        c[key] = gr.Dropdown(choices, value=value, **kw(key), **extra)

    with gr.Row():
        drop("sample_rate", [ORIGINAL, *[str(r) for r in limits.RESAMPLE_TARGETS]], ORIGINAL)
        drop("base", list(limits.FEAT_BASES), d["base"])
    with gr.Row():
        numbers("n_fft", "win_length", "hop_length")
    with gr.Row():
        drop("pad_mode", list(limits.FEAT_PAD_MODES), d["pad_mode"])
        powers = [("2 (power)", "2"), ("1 (magnitude)", "1"), ("None (complex)", "none")]
        drop("power", powers, "2", allow_custom_value=True)
    with gr.Row():
        boxes("center", "normalized", "db")
    with gr.Row():
        numbers("top_db", precision=None)
    with gr.Row():
        numbers("f_min", "f_max", precision=None)
        numbers("n_mels")
    with gr.Row():
        drop("mel_norm", ["none", "slaney"], "none")
        drop("mel_scale", list(limits.FEAT_MEL_SCALES), d["mel_scale"])
    with gr.Row():
        numbers("n_mfcc", "n_filter", "n_lfcc")
        drop("dct_norm", ["ortho", "none"], "ortho")
    with gr.Row():
        boxes("log_mels", "log_lf")
    with gr.Row():
        numbers("delta_win_length")
        drop("delta_mode", list(limits.FEAT_DELTA_MODES), d["delta_mode"])
        c["delta_order"] = gr.Radio([1, 2], value=d["delta_order"], **kw("delta_order"))
    with gr.Row():
        numbers("cmn_window", "min_cmn_window")
        boxes("cmn_center", "norm_vars")
    with gr.Row():
        numbers("frame_time", precision=None)
        numbers("median_win", "freq_low", "freq_high")
    with gr.Row():
        numbers("min_f0", "max_f0", "frame_length_ms", "frame_shift_ms", precision=None)
        c["voicing_threshold"] = gr.Slider(0.0, 1.0, d["voicing_threshold"], step=0.01, **kw("voicing_threshold"))
    return c


def build(shared: dict) -> None:
    """Lay out the Features tab inside the current ``gr.Tab``."""
    with gr.Row():
        with gr.Column(scale=2):
            audio_in = audio_input(t("feat_input"), "features-input")
            gr.Markdown(t("feat_help"))
            name = gr.Radio(CHOICES, value=DEFAULT_FEATURE, label=t("feat_name"), elem_id="features-name")
            per_language([name], lambda lang: choices_in(lang, CHOICES, "feat_choice_"))
            with gr.Row():  # the action above the parameters, so it stays in view
                run = gr.Button(t("feat_run"), variant="primary", elem_id="features-run", scale=2)
                reset = gr.Button(t("feat_reset"), elem_id="features-reset", scale=1)
            compare = librosa_checkbox()
            with gr.Accordion(t("feat_params"), open=True):
                controls = _controls(DEFAULT_FEATURE)
        with gr.Column(scale=3):
            notes = notes_area("features-notes")
            view = timeline.timeline("features-timeline", label=t("tl_label"))
            figure = described_figure(t("feat_figure"), "features-figure")
            with gr.Row():
                npy = gr.File(label=t("feat_npy"), elem_id="features-npy")
                pt = gr.File(label=t("feat_pt"), elem_id="features-pt")
            with gr.Accordion(t("code_panel"), open=False):
                code = gr.Code(language="python", elem_id="features-code")
                notebook_button(code, "features", "features-notebook")
            summary = gr.JSON(label=t("feat_summary"), elem_id="features-summary")
            recipe_btn, recipe_out = recipe_widgets("features-recipe")
            lib = librosa_outputs()
            params_json = gr.Textbox("{}", label="params (JSON)", visible=False)
    follow_audio(shared, audio_in)

    keys = list(controls)
    widgets = [controls[k] for k in keys]

    @user_errors
    def compute_ui(audio, feature, *values):
        feature = ft.check_feature(feature)
        path, result = feature_result(audio, feature, ui_params(feature, dict(zip(keys, values, strict=True))))
        outputs = feature_outputs(path, result)
        return (*outputs, notes_markdown(outputs[-1]["notes"]), feature_view(path, result))

    def show(feature, base):
        shown = visible_keys(feature, base)
        return [gr.update(visible=k in shown) for k in keys]

    def follow_feature(feature, base, power):
        """Show the feature's controls; a complex power (spectrogram only) goes back to 2 elsewhere."""
        updates = show(feature, base)
        if feature != "spectrogram" and str(power).strip().lower() in ("none", "complex", ""):
            updates[keys.index("power")] = gr.update(visible="power" in visible_keys(feature, base), value="2")
        return updates

    outputs = [figure, npy, pt, code, summary]
    computed = run.click(compute_ui, [audio_in, name, *widgets], [*outputs, notes, view], api_name=False)
    keep_notes(computed, notes, compute_ui)
    name.change(follow_feature, [name, controls["base"], controls["power"]], widgets, api_name=False)
    reset.click(lambda: [gr.update(value=widget_default(k)) for k in keys], None, widgets, api_name=False)
    controls["base"].change(show, [name, controls["base"]], widgets, api_name=False)
    api_btn = gr.Button(visible=False)
    api_btn.click(features, [audio_in, name, params_json], outputs, api_name="features")
    params_btn = gr.Button(visible=False)
    params_btn.click(feature_params, name, summary, api_name="feature_params")

    def recipe_ui(feature, *values):
        return features_recipe(feature, ui_params(feature, dict(zip(keys, values, strict=True))))

    recipe_btn.click(recipe_ui, [name, *widgets], recipe_out, api_name=False)

    lib_outputs = [lib["group"], lib["figure"], lib["table"], lib["code_ta"], lib["code_lr"], lib["stats"]]

    @user_errors
    def compare_ui(audio, feature, wanted, *values):
        if not wanted:
            return gr.update(visible=False), *[gr.skip()] * 5
        if feature not in librosa_bridge.SUPPORTED:
            return gr.update(visible=True), None, unsupported_markdown(request_language()), None, None, None
        params = ui_params(feature, dict(zip(keys, values, strict=True)))
        return gr.update(visible=True), *run_comparison(audio, feature, params)

    lib_event = run.click(compare_ui, [audio_in, name, compare, *widgets], lib_outputs, api_name=False)
    keep_notes(lib_event, notes, compare_ui)
    lib_btn = gr.Button(visible=False)
    lib_btn.click(compare_librosa, [audio_in, name, params_json], lib_outputs[1:], api_name="compare_librosa")
    recipe_api = gr.Button(visible=False)
    recipe_api.click(features_recipe, [name, params_json], recipe_out, api_name="features_recipe")
