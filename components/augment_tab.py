"""Augment tab: build a chain of effects (SpecAugment masks, time stretch, pitch, speed, noise,
reverb, filters), apply it with a seed, hear and download the result, see its code."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from audiolab.augment import compute as augment
from audiolab.augment import snippets as augment_snippets
from audiolab.batch import recipes
from audiolab.core import io as aio
from audiolab.core import limits, plots
from audiolab.core.errors import AudioLabError
from components import timeline
from components.batch_tab import recipe_file, recipe_widgets
from components.common import (
    audio_file,
    audio_input,
    described_figure,
    empty_table,
    follow_audio,
    image_file,
    input_path,
    keep_notes,
    notes_area,
    notes_markdown,
    per_language,
    request_language,
    require_audio,
    table,
    user_errors,
)
from components.compare_tab import ab_view, build_compare, compare_paths
from components.i18n import register, t, text
from components.notebooks import notebook_button

STEP_KEYS = ["aug_h_index", "aug_h_op", "aug_h_params", "aug_h_seed", "aug_h_duration", "aug_h_rate", "aug_h_time",
             "aug_h_notes"]  # fmt: skip
STEP_WIDTHS = ["4%", "14%", "27%", "6%", "10%", "11%", "10%", "18%"]  # wide enough that no header word breaks
PRESET_NAMES = list(augment.PRESETS)

register(
    {
        "aug_intro": (
            "Build a **chain** of effects: pick an effect, set it, **Add step**; repeat; then **Apply**. "
            "Random effects (masks, speed perturbation, noise, reverb) draw from the chain's **seed** plus the "
            "step's index (or the step's own `seed`), so the same chain and seed always give the same audio. "
            "The chain is plain JSON: edit it freely, or start from a preset.",
            "构建一个效果**链**：选择效果、设置参数、点击**添加步骤**，重复后点击**应用**。"
            "随机效果（掩码、速度扰动、噪声、混响）使用链的**种子**加上步骤序号（或步骤自己的 `seed`），"
            "因此相同的链和种子总是得到相同的音频。链就是普通 JSON：可自由编辑，也可从预设开始。",
        ),
        "aug_input": ("Input audio (upload or record)", "输入音频（上传或录音）"),
        "aug_examples": ("Examples (synthesized by us)", "示例（我们自己合成）"),
        "aug_op": ("Effect", "效果"),
        "aug_add": ("Add step", "添加步骤"),
        "aug_undo": ("Remove last step", "删除最后一步"),
        "aug_clear": ("Clear chain", "清空链"),
        "aug_preset": ("…or load a preset chain", "……或加载预设链"),
        "aug_chain": ("Chain (JSON list of steps; editable)", "效果链（步骤的 JSON 列表，可编辑）"),
        "aug_seed": ("Seed (random steps use seed + step index)", "种子（随机步骤使用 种子 + 步骤序号）"),
        "aug_inversion": (
            "Masked spectrogram → audio: inverse STFT with the original phase, or Griffin-Lim",
            "掩码后的频谱 → 音频：用原始相位做逆 STFT，或 Griffin-Lim",
        ),
        "aug_clips": ("Extra clips: noise and room impulse response", "附加音频：噪声与房间冲激响应"),
        "aug_noise_clip": (
            "Noise clip (for add_noise with noise = clip)",
            "噪声音频（用于 noise = clip 的 add_noise）",
        ),
        "aug_rir_clip": (
            "Room impulse response (for reverb with rir = clip)",
            "房间冲激响应（用于 rir = clip 的 reverb）",
        ),
        "aug_apply": ("Apply chain", "应用效果链"),
        "aug_result": ("Result (play / download)", "结果（播放 / 下载）"),
        "aug_cmp_step": ("Compare on the timeline", "在时间轴上比较"),
        "aug_cmp_whole": ("input → result (the whole chain)", "输入 → 结果（整条链）"),
        "aug_cmp_step_n": ("step {n} ({op}) against the audio before it", "第 {n} 步（{op}）与其之前的音频"),
        "tl_before_step": ("before step {n}", "第 {n} 步之前"),
        "tl_after_step": ("after step {n}", "第 {n} 步之后"),
        "aug_before": ("Before", "处理前"),
        "aug_after": ("After", "处理后"),
        "aug_steps": ("Steps", "步骤"),
        "aug_download": (
            "Download the result (float WAV, full rate and channels)",
            "下载结果（浮点 WAV，完整采样率与声道）",
        ),
        "aug_schema": ("Effects and their parameters (JSON Schema)", "效果及其参数（JSON Schema）"),
        "aug_step_seed": ("seed (empty: chain seed + step index)", "seed（留空：链种子 + 步骤序号）"),
        "aug_p_rate": ("rate (speed-up: > 1 shorter, < 1 longer)", "rate（加速倍数：> 1 变短，< 1 变长）"),
        "aug_p_n_fft": ("n_fft (FFT size, samples)", "n_fft（FFT 点数，采样点）"),
        "aug_p_hop_length": ("hop_length (samples; empty: n_fft // 4)", "hop_length（帧移，采样点；留空：n_fft // 4）"),
        "aug_p_time_mask_param": ("time_mask_param (longest mask, frames)", "time_mask_param（最长掩码，帧）"),
        "aug_p_freq_mask_param": ("freq_mask_param (longest mask, bins)", "freq_mask_param（最长掩码，频点）"),
        "aug_p_num_masks": ("num_masks (masks one after another)", "num_masks（依次施加的掩码数）"),
        "aug_p_iid_masks": ("iid_masks (a different mask per channel)", "iid_masks（每个声道独立掩码）"),
        "aug_p_p": ("p (a mask covers at most this fraction of the frames)", "p（掩码最多覆盖的帧比例）"),
        "aug_p_n_steps": ("n_steps (semitones at 12 bins per octave)", "n_steps（每八度 12 步时为半音）"),
        "aug_p_bins_per_octave": ("bins_per_octave (steps per octave)", "bins_per_octave（每八度步数）"),
        "aug_p_factor": ("factor (> 1 faster and higher)", "factor（> 1 更快且更高）"),
        "aug_p_factors": (
            "factors (one is drawn at random, e.g. 0.9, 1.0, 1.1)",
            "factors（随机选一个，如 0.9, 1.0, 1.1）",
        ),
        "aug_p_sample_rate": ("sample_rate (new rate, Hz)", "sample_rate（新采样率，Hz）"),
        "aug_p_snr_db": ("snr_db (signal-to-noise ratio, dB)", "snr_db（信噪比，dB）"),
        "aug_p_noise": ("noise (generated colour, or the noise clip)", "noise（生成的噪声颜色，或噪声音频）"),
        "aug_p_rt60": ("rt60 (synthetic room: 60 dB decay time, s)", "rt60（合成房间：衰减 60 dB 的时间，秒）"),
        "aug_p_rir": ("rir (synthetic, or the impulse response clip)", "rir（合成，或冲激响应音频）"),
        "aug_p_cutoff_freq": ("cutoff_freq (Hz)", "cutoff_freq（截止频率，Hz）"),
        "aug_p_Q": ("Q (quality factor)", "Q（品质因数）"),
        "aug_p_central_freq": ("central_freq (Hz)", "central_freq（中心频率，Hz）"),
        "aug_p_const_skirt_gain": ("const_skirt_gain (constant skirt gain)", "const_skirt_gain（恒定裙边增益）"),
        "aug_p_center_freq": ("center_freq (Hz)", "center_freq（中心频率，Hz）"),
        "aug_p_gain": ("gain (dB at center_freq)", "gain（中心频率处增益，dB）"),
        "aug_p_gain_db": ("gain_db (dB; the result is clamped to [-1, 1])", "gain_db（dB；结果截断到 [-1, 1]）"),
        "aug_p_fade_in_s": ("fade_in_s (s)", "fade_in_s（淡入，秒）"),
        "aug_p_fade_out_s": ("fade_out_s (s)", "fade_out_s（淡出，秒）"),
        "aug_p_fade_shape": ("fade_shape", "fade_shape（淡变曲线）"),
        "aug_op_time_stretch": (
            "**T.TimeStretch**: phase vocoder on the complex STFT, then the inverse STFT (pitch kept).",
            "**T.TimeStretch**：对复数 STFT 做相位声码器，再逆 STFT（音高不变）。",
        ),
        "aug_op_time_masking": (
            "**T.TimeMasking** (SpecAugment): zero runs of STFT frames, then back to audio.",
            "**T.TimeMasking**（SpecAugment）：将若干连续 STFT 帧置零，再转回音频。",
        ),
        "aug_op_frequency_masking": (
            "**T.FrequencyMasking** (SpecAugment): zero bands of frequency bins, then back to audio.",
            "**T.FrequencyMasking**（SpecAugment）：将若干频带置零，再转回音频。",
        ),
        "aug_op_pitch_shift": (
            "**F.pitch_shift**: stretch, then resample by a small fraction p/q (same length, new pitch).",
            "**F.pitch_shift**：先时间伸缩，再按小分数 p/q 重采样（时长不变，音高改变）。",
        ),
        "aug_op_speed": (
            "**F.speed**: resample; tempo and pitch change together.",
            "**F.speed**：重采样，速度与音高一起变。",
        ),
        "aug_op_speed_perturbation": (
            "**T.SpeedPerturbation**: F.speed with a factor drawn at random (seeded).",
            "**T.SpeedPerturbation**：随机（带种子）选一个因子做 F.speed。",
        ),
        "aug_op_resample": ("**T.Resample** to a new sample rate.", "**T.Resample**：重采样到新的采样率。"),
        "aug_op_add_noise": (
            "**F.add_noise**: white, pink or brown noise (generated, seeded) or the noise clip, at an SNR.",
            "**F.add_noise**：按信噪比加入白/粉红/布朗噪声（生成，带种子）或噪声音频。",
        ),
        "aug_op_reverb": (
            "**F.fftconvolve** with a room impulse response: synthetic (decays 60 dB in rt60 s) or the RIR clip.",
            "**F.fftconvolve** 与房间冲激响应卷积：合成（rt60 秒内衰减 60 dB）或上传的冲激响应。",
        ),
        "aug_op_lowpass": ("**F.lowpass_biquad**", "**F.lowpass_biquad**（低通）"),
        "aug_op_highpass": ("**F.highpass_biquad**", "**F.highpass_biquad**（高通）"),
        "aug_op_bandpass": ("**F.bandpass_biquad**", "**F.bandpass_biquad**（带通）"),
        "aug_op_equalizer": ("**F.equalizer_biquad**", "**F.equalizer_biquad**（均衡器）"),
        "aug_op_gain": ("**T.Vol** in dB (clamped to [-1, 1]).", "**T.Vol**（dB，结果截断到 [-1, 1]）。"),
        "aug_op_fade": ("**T.Fade**: fade in and out.", "**T.Fade**：淡入淡出。"),
        "aug_op_preemphasis": ("**F.preemphasis**", "**F.preemphasis**（预加重）"),
        "aug_h_index": ("#", "#"),
        "aug_h_op": ("op", "效果"),
        "aug_h_params": ("params", "参数"),
        "aug_h_seed": ("seed", "种子"),
        "aug_h_duration": ("length (s)", "时长（秒）"),
        "aug_h_rate": ("rate (Hz)", "采样率（Hz）"),
        "aug_h_time": ("time (ms)", "耗时（毫秒）"),
        "aug_h_notes": ("notes", "说明"),
        "aug_preset_0": (PRESET_NAMES[0], "SpecAugment（时间 + 频率掩码）"),
        "aug_preset_1": (PRESET_NAMES[1], "电话（带限、8 kHz、有噪声）"),
        "aug_preset_2": (PRESET_NAMES[2], "房间（混响 + 噪声）"),
        "aug_preset_3": (PRESET_NAMES[3], "更快更高"),
        "aug_preset_4": (PRESET_NAMES[4], "速度扰动 + 淡入淡出"),
        "aug_p_coeff": ("coeff (y[i] = x[i] - coeff · x[i-1])", "coeff（预加重系数：y[i] = x[i] - coeff · x[i-1]）"),
    }
)


# --- handlers -------------------------------------------------------------------------------------


def _steps_of(text: str) -> list:
    """The steps in the chain box as parsed JSON (not validated); a user error if it is not a JSON list."""
    try:
        steps = json.loads(text or "[]")
    except json.JSONDecodeError as err:
        raise AudioLabError(
            f"The chain is not valid JSON: {err.msg} (line {err.lineno}).",
            zh=f"效果链不是有效的 JSON：{err.msg}（第 {err.lineno} 行）。",
        ) from None
    if not isinstance(steps, list):
        raise AudioLabError("The chain must be a JSON list of steps.", zh="效果链必须是步骤的 JSON 列表。")
    return steps


def _whole(name: str, value) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise AudioLabError(
            f"{name} must be a whole number (or empty), got {value!r}.",
            zh=f"{name} 必须是整数（或留空），实际为 {value!r}。",
        ) from None


def _widget_value(param: augment.Param, value):
    """A widget's value as the JSON value of the parameter (``None``: leave it out)."""
    if value is None or str(value).strip() == "":
        return None
    if param.default is None:  # an optional whole number (hop_length) typed into a textbox
        return _whole(param.name, value)
    if param.kind == "numbers":
        try:
            return [float(v) for v in str(value).replace(";", ",").split(",") if v.strip()]
        except ValueError:
            raise AudioLabError(
                f"factors must be numbers separated by commas, got {value!r}.",
                zh=f"factors 必须是用逗号分隔的数字，实际为 {value!r}。",
            ) from None
    return value


@user_errors
def add_step(op: str, chain: str, *values) -> str:
    """Append a validated ``{"op": op, ...}`` step (widget values in ``OPS[op]`` order, then seed)."""
    steps = _steps_of(chain)
    spec = augment.OPS[op]
    step: dict = {"op": op}
    for param, value in zip(spec.params, values, strict=False):
        value = _widget_value(param, value)
        if value is not None:
            step[param.name] = value
    if spec.random and str(values[len(spec.params)] or "").strip():
        step["seed"] = _whole("seed", values[len(spec.params)])
    checked = augment.check_step(step, len(steps))
    if len(steps) >= limits.AUG_MAX_STEPS:
        raise AudioLabError(
            f"The chain already has {len(steps)} steps; at most {limits.AUG_MAX_STEPS} are allowed.",
            zh=f"效果链已有 {len(steps)} 个步骤；最多允许 {limits.AUG_MAX_STEPS} 个。",
        )
    return augment.chain_text([*steps, checked])


@user_errors
def remove_last(chain: str) -> str:
    """The chain without its last step."""
    return augment.chain_text(_steps_of(chain)[:-1])


def preview(chain: str) -> list[list]:
    """Rows of the steps table for the chain being built (errors shown in a row, not raised)."""
    try:
        steps = augment.parse_chain(chain) if _steps_of(chain) else []
    except AudioLabError as err:
        return table([["!", "", err.text(request_language()), "", "", "", "", ""]], STEP_KEYS)
    return table([[i + 1, s["op"], json.dumps({k: v for k, v in s.items() if k not in ("op", "seed")}),
                   s.get("seed", ""), "", "", "", ""] for i, s in enumerate(steps)], STEP_KEYS)  # fmt: skip


def _clip(value) -> augment.Clip | None:
    path = input_path(value)
    if not path:
        return None
    decoded = _decode(path)
    return decoded.waveform, decoded.sample_rate


def _decode(path: str) -> aio.Decoded:
    """Decode at most what the Augment tab uses (input, noise and RIR clips alike)."""
    return aio.decode(path, max_seconds=limits.AUG_MAX_DURATION_S, max_samples=limits.AUG_MAX_INPUT_SAMPLES)


def _title(what: str, waveform, sample_rate: int) -> str:
    return f"{what}: {waveform.shape[-1] / sample_rate:.2f} s at {sample_rate} Hz"


@user_errors
def augment_audio(audio, chain, seed, inversion, noise_audio, rir_audio):
    """Apply a chain of torchaudio augmentations to audio (the same seed gives the same samples).

    Args:
        audio: the audio file (at most 25 MB; the first 30 s are used): an http(s) URL or an uploaded file.
        chain: JSON list of steps, e.g. [{"op": "time_stretch", "rate": 1.2}]; ops and ranges: augment_schema.
        seed: random seed of every random step (noise, masks, speed factors), 0 to 2**31 - 1.
        inversion: how masked spectrograms become audio again: "phase" (inverse STFT) or "griffinlim".
        noise_audio: optional noise clip for an add_noise step with kind "clip" (URL or file), else null.
        rir_audio: optional room impulse response for a reverb step with kind "clip" (URL or file), else null.

    Returns:
        the result for the player (WAV, at most 2 channels and 48 kHz), the spectrograms before and after, the
        steps table (one row per step: op, parameters, output shape and sample rate), notes, the torchaudio code,
        and the full result (float WAV).
    """
    path = require_audio(audio)
    decoded = _decode(path)
    notes = list(decoded.notes)
    x = augment.limit_input(decoded.waveform, decoded.sample_rate, notes)
    noise, rir = _clip(noise_audio), _clip(rir_audio)
    r = augment.run_chain(x, decoded.sample_rate, chain, seed=seed, inversion=inversion, noise=noise, rir=rir)
    playable, play_rate = aio.for_playback(r.waveform, r.sample_rate, notes)
    n = x.shape[-1]
    code = augment_snippets.chain_snippet(
        Path(path).name, r, num_frames=-1 if n == decoded.info.num_frames else n,
        noise_path=Path(input_path(noise_audio) or "noise.wav").name,
        rir_path=Path(input_path(rir_audio) or "rir.wav").name,
    )  # fmt: skip
    before, after = plots.spectrogram_pair(
        [(x, decoded.sample_rate), (r.waveform, r.sample_rate)],
        [_title("Before", x, decoded.sample_rate), _title("After", r.waveform, r.sample_rate)],
    )  # same time axis and colour scale, so the two compare at a glance
    return (
        audio_file("augmented_player.wav", playable, play_rate, bits=16),
        image_file(before, "before.png"),
        image_file(after, "after.png"),
        table([s.row() for s in r.steps], STEP_KEYS),
        notes_markdown(notes),
        code,
        audio_file("augmented.wav", r.waveform, r.sample_rate, bits="float"),
    )


@user_errors
def compare_result(audio, result, align, match_loudness):
    """The input (A) against the chain's full-quality result (B), through the Compare engine."""
    path = require_audio(audio)
    if not input_path(result):
        return gr.skip(), gr.skip(), gr.skip()
    return compare_paths(path, input_path(result), align, match_loudness, max_seconds_a=limits.AUG_MAX_DURATION_S,
                         names=(Path(path).name, "augmented.wav"))  # fmt: skip


@user_errors
def result_view(audio, result, align):
    """The timeline of the input (A) and the chain's full-quality result (B)."""
    path = require_audio(audio)
    if not input_path(result):
        return gr.skip()
    others = [(input_path(result), timeline.label("tl_result"))]
    return ab_view(path, others, align, name_a=timeline.label("tl_input"), max_seconds_a=limits.AUG_MAX_DURATION_S)


def step_choices(chain: str, language: str = "en") -> list[tuple[str, int]]:
    """The comparisons offered: the whole chain (0), or step ``n`` against the audio before it."""
    try:
        steps = augment.parse_chain(chain) if _steps_of(chain) else []
    except AudioLabError:
        steps = []
    return [(text("aug_cmp_whole", language), 0)] + [
        (text("aug_cmp_step_n", language).format(n=i + 1, op=s["op"]), i + 1) for i, s in enumerate(steps)
    ]


def follow_chain(chain: str, step):
    """The step picker after the chain changed: its choices, and the whole chain when its step is gone."""
    choices = step_choices(chain, request_language())
    keep = step if step in [v for _, v in choices] else 0
    return gr.update(choices=choices, value=keep)


@user_errors
def compare_step(audio, chain, seed, inversion, noise_audio, rir_audio, step, result, align, match_loudness):
    """The timeline and the figures of one step against the audio before it (step 0: input against the
    result); the step's audio is computed again, exactly as in the chain."""
    step = int(step or 0)
    if step == 0:
        return result_view(audio, result, align), *compare_result(audio, result, align, match_loudness)
    path = require_audio(audio)
    decoded = _decode(path)
    x = augment.limit_input(decoded.waveform, decoded.sample_rate, list(decoded.notes))
    (a, rate_a), (b, rate_b) = augment.step_io(x, decoded.sample_rate, chain, step, seed=seed, inversion=inversion,
                                               noise=_clip(noise_audio), rir=_clip(rir_audio))  # fmt: skip
    path_a = audio_file(f"before_step{step}.wav", a, rate_a, bits="float")
    path_b = audio_file(f"after_step{step}.wav", b, rate_b, bits="float")
    names = [[text(key, lang).format(n=step) for lang in ("en", "zh")] for key in ("tl_before_step", "tl_after_step")]
    view = ab_view(path_a, [(path_b, names[1])], align, name_a=names[0])
    return view, *compare_paths(path_a, path_b, align, match_loudness, names=(Path(path_a).name, Path(path_b).name))


def preset_of(chain: str, preset: str | None):
    """The preset box keeps its name only while the chain is still that preset's."""
    if preset in augment.PRESETS and augment.chain_text(augment.PRESETS[preset]) != chain:
        return None
    return gr.skip()


def augment_schema() -> dict:
    """The JSON Schema of an augment chain: every op, its parameters with units, ranges and defaults.

    Returns:
        dict: the JSON Schema that augment_audio's ``chain`` must satisfy (an array of step objects).
    """
    return augment.json_schema()


@user_errors
def augment_recipe(chain, seed, inversion):
    """The Augment settings as a batch recipe file, for the batch tool or ``python -m audiolab.batch``.

    Args:
        chain: JSON list of steps like [{"op": "time_stretch", "rate": 1.2}] (see augment_schema); no uploaded clips.
        seed: whole number 0 to 2147483647; random step i draws from seed + i unless it names its own seed.
        inversion: phase or griffinlim: how masked spectrograms become audio again.

    Returns:
        recipe_augment.json: {"version": 1, "chain": [...validated steps...], "seed": ..., "inversion": ...}.
    """
    return recipe_file(recipes.chain_recipe(chain, seed, inversion), "recipe_augment.json")


# --- layout ---------------------------------------------------------------------------------------


def _widget(param: augment.Param):
    """An input widget for one parameter."""
    label = t(f"aug_p_{param.name}")
    if param.kind == "bool":
        return gr.Checkbox(param.default, label=label)
    if param.kind == "choice":
        return gr.Dropdown(list(param.choices), value=param.default, label=label)
    if param.kind == "numbers":
        return gr.Textbox(", ".join(str(v) for v in param.default), label=label)
    if param.default is None:  # optional (hop_length): empty means the default
        return gr.Textbox("", label=label)
    if param.hi - param.lo > 2000:
        return gr.Number(param.default, label=label, minimum=param.lo, maximum=param.hi)
    step = 1 if param.kind == "integer" else 0.01
    return gr.Slider(param.lo, param.hi, value=param.default, step=step, label=label)


def _builder(chain: gr.Textbox) -> None:
    """The effect dropdown, one group of widgets per effect (the chosen one shown) and its Add button."""
    names = list(augment.OPS)
    op = gr.Dropdown(names, value=names[0], label=t("aug_op"), elem_id="aug-op")
    groups = []
    for name, spec in augment.OPS.items():
        with gr.Group(visible=name == names[0]) as group:
            gr.Markdown(t(f"aug_op_{name}"), padding=True)
            widgets = [_widget(p) for p in spec.params]
            if spec.random:
                widgets.append(gr.Textbox("", label=t("aug_step_seed")))
            add = gr.Button(t("aug_add"), elem_id=f"aug-add-{name}", size="sm")
        add.click(add_step, [gr.State(name), chain, *widgets], chain, api_name=False)
        groups.append(group)
    op.change(lambda n: [gr.Group(visible=n == g) for g in names], op, groups, api_name=False)


def build(shared: dict) -> None:
    """Lay out the Augment tab inside the current ``gr.Tab``."""
    gr.Markdown(t("aug_intro"))
    with gr.Row():
        with gr.Column(scale=2):
            audio_in = audio_input(t("aug_input"), "aug-input", t("aug_examples"))
            chain = gr.Textbox("[]", label=t("aug_chain"), lines=5, max_lines=16, elem_id="aug-chain", render=False)
            _builder(chain)
            with gr.Row():
                undo = gr.Button(t("aug_undo"), size="sm")
                clear = gr.Button(t("aug_clear"), size="sm")
            preset = gr.Dropdown(list(augment.PRESETS), value=None, label=t("aug_preset"), elem_id="aug-preset")
            per_language([preset], lambda lang: gr.update(
                choices=[(text(f"aug_preset_{i}", lang), name) for i, name in enumerate(augment.PRESETS)]
            ))  # fmt: skip
            chain.render()
            with gr.Row():
                seed = gr.Number(0, label=t("aug_seed"), precision=0, minimum=0, maximum=limits.AUG_SEED_RANGE[1],
                                 elem_id="aug-seed")  # fmt: skip
                inversion = gr.Radio(list(limits.AUG_INVERSIONS), value="phase", label=t("aug_inversion"))
            with gr.Accordion(t("aug_clips"), open=False):
                noise_in = gr.Audio(sources=["upload"], type="filepath", label=t("aug_noise_clip"), elem_id="aug-noise")
                rir_in = gr.Audio(sources=["upload"], type="filepath", label=t("aug_rir_clip"), elem_id="aug-rir")
            apply = gr.Button(t("aug_apply"), variant="primary", elem_id="aug-run")
        with gr.Column(scale=3):
            notes = notes_area("aug-notes")
            result = gr.Audio(label=t("aug_result"), type="filepath", interactive=False, elem_id="aug-result",
                              buttons=["download"])  # fmt: skip
            download = gr.File(label=t("aug_download"), elem_id="aug-download")
            recipe_btn, recipe_out = recipe_widgets("aug-recipe")
            steps = gr.Dataframe(headers=[text(k) for k in STEP_KEYS], label=t("aug_steps"), interactive=False,
                                 wrap=True, column_widths=STEP_WIDTHS, max_height=900,
                                 elem_id="aug-steps")  # fmt: skip
            per_language([steps], lambda lang: empty_table(STEP_KEYS, lang))
    step_pick = gr.Dropdown(step_choices("[]"), value=0, label=t("aug_cmp_step"), elem_id="aug-cmp-step")
    per_language([step_pick], lambda lang: gr.update(choices=step_choices("[]", lang)))
    view = timeline.timeline("aug-timeline", label=t("tl_label"))  # input (A) and result (B), one time axis
    with gr.Row():
        before = described_figure(t("aug_before"), "aug-before")
        after = described_figure(t("aug_after"), "aug-after")
    compare_panel = build_compare(shared, prefix="aug-cmp")  # input (A) against the result (B)
    with gr.Accordion(t("code_panel"), open=False):
        code = gr.Code(language="python", elem_id="aug-code")
        notebook_button(code, "augment", "aug-notebook")
    with gr.Accordion(t("aug_schema"), open=False):
        schema_json = gr.JSON(augment.json_schema())
    recipe_btn.click(augment_recipe, [chain, seed, inversion], recipe_out, api_name="augment_recipe")
    follow_audio(shared, audio_in)

    undo.click(remove_last, chain, chain, api_name=False)
    clear.click(lambda: "[]", None, chain, api_name=False)
    preset.input(lambda name: augment.chain_text(augment.PRESETS[name]), preset, chain, api_name=False)
    chain.change(preview, chain, steps, api_name=False)
    chain.change(preset_of, [chain, preset], preset, api_name=False)
    outputs = [result, before, after, steps, notes, code, download]
    event = apply.click(augment_audio, [audio_in, chain, seed, inversion, noise_in, rir_in], outputs,
                        api_name="augment")  # fmt: skip
    keep_notes(event, notes, augment_audio)
    step_inputs = [audio_in, chain, seed, inversion, noise_in, rir_in, step_pick, download, compare_panel.align,
                   compare_panel.match]  # fmt: skip
    for trigger in (event.success, compare_panel.button.click, step_pick.input):
        trigger(compare_step, step_inputs, [view, *compare_panel.outputs], api_name=False)
    chain.change(follow_chain, [chain, step_pick], step_pick, api_name=False)
    schema_btn = gr.Button(visible=False)
    schema_btn.click(augment_schema, None, schema_json, api_name="augment_schema")
