"""Griffin-Lim tab: rebuild a waveform from a (mel) magnitude spectrogram and judge it."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.griffinlim import compute as griffinlim
from audiolab.griffinlim import snippets as griffinlim_snippets
from components import timeline
from components.common import (
    audio_file,
    audio_input,
    described_figure,
    follow_audio,
    image_file,
    input_path,
    keep_notes,
    notes_area,
    notes_markdown,
    require_audio,
    user_errors,
)
from components.compare_tab import ab_view, build_compare, compare_paths
from components.i18n import register, t
from components.notebooks import notebook_button

register(
    {
        "gl_intro": (
            "A magnitude spectrogram throws the phase away. **Griffin-Lim** guesses it back by alternating "
            "inverse STFT and STFT; the **true-phase inverse** (the complex STFT inverted) shows what the real "
            "phase gives. Griffin-Lim matches the *magnitude* (spectral convergence and log-spectral distance "
            "fall), not the waveform: its phase differs, so SNR and SI-SDR stay near or below 0 dB.",
            "幅度谱丢弃了相位。**Griffin-Lim** 通过交替进行逆 STFT 与 STFT 来估计相位；"
            "**真实相位逆变换**（对复数 STFT 求逆）展示使用真实相位的结果。Griffin-Lim 还原的是*幅度*"
            "（谱收敛度与对数谱距离下降），而不是波形：相位不同，因此 SNR 与 SI-SDR 接近或低于 0 dB。",
        ),
        "gl_input": ("Input audio (upload or record)", "输入音频（上传或录音）"),
        "gl_examples": ("Examples (synthesized by us)", "示例（我们自己合成）"),
        "gl_source": (
            "Spectrogram to invert (mel: T.InverseMelScale first, then Griffin-Lim)",
            "要反演的频谱（mel：先 T.InverseMelScale，再 Griffin-Lim）",
        ),
        "gl_n_fft": ("n_fft (FFT size, samples)", "n_fft（FFT 点数，采样点）"),
        "gl_win_length": ("win_length (samples, ≤ n_fft)", "win_length（窗长，采样点，≤ n_fft）"),
        "gl_hop_length": ("hop_length (samples, ≤ win_length / 2)", "hop_length（帧移，采样点，≤ win_length / 2）"),
        "gl_power": ("power (1 = magnitude, 2 = power spectrogram)", "power（1 = 幅度谱，2 = 功率谱）"),
        "gl_n_iter": ("n_iter (iterations)", "n_iter（迭代次数）"),
        "gl_momentum": ("momentum (0 = classic Griffin-Lim)", "momentum（0 = 经典 Griffin-Lim）"),
        "gl_rand_init": ("Random initial phase (rand_init)", "随机初始相位（rand_init）"),
        "gl_seed": ("Seed of the random phase", "随机相位的种子"),
        "gl_length": ("Output length (samples, 0 = same as input)", "输出长度（采样点，0 = 与输入相同）"),
        "gl_n_mels": ("n_mels (mel source only)", "n_mels（仅 mel 模式）"),
        "gl_run": ("Run Griffin-Lim", "运行 Griffin-Lim"),
        "gl_result": ("Griffin-Lim reconstruction (play / download WAV)", "Griffin-Lim 重建（播放 / 下载 WAV）"),
        "gl_true_phase": (
            "True-phase inverse, for reference (play / download WAV)",
            "真实相位逆变换，作参考（播放 / 下载 WAV）",
        ),
        "gl_metrics": ("Metrics against the original (dB)", "与原始音频对比的指标（dB）"),
        "gl_convergence": ("Convergence curve", "收敛曲线"),
        "gl_spectrograms": ("Spectrograms: original and reconstruction", "频谱图：原始与重建"),
    }
)


def _progress_reporter(progress: gr.Progress):
    """The engine's plain callback, forwarded to Gradio's progress bar."""

    def report(done: int, total: int, sc_db: float) -> None:
        progress((done, total), desc=f"Griffin-Lim, spectral convergence {sc_db:.1f} dB", unit="iterations")

    return report


@user_errors
def griffin_lim(
    audio, source, n_fft, win_length, hop_length, power, n_iter, momentum, rand_init, seed, length, n_mels,
    progress=gr.Progress(),  # noqa: B008 - Gradio's documented way to get a progress bar
):  # fmt: skip
    """Rebuild audio from its magnitude spectrogram with torchaudio's Griffin-Lim, next to the true-phase inverse.

    Args:
        audio: the audio file (at most 25 MB; the first 60 s are used): an http(s) URL or an uploaded file.
        source: the magnitude to invert: "linear" (|STFT|**power) or "mel" (a mel spectrogram, via InverseMelScale).
        n_fft: FFT size in samples, one of 128, 256, 512, 1024, 2048, 4096.
        win_length: window length in samples, 16 to n_fft.
        hop_length: hop between frames in samples, 1 to win_length // 2.
        power: exponent of the spectrogram, 0.5 to 2 (1 = magnitude, 2 = power).
        n_iter: Griffin-Lim iterations, 1 to 256.
        momentum: Griffin-Lim momentum, 0 to 0.99 (0.99 = fast Griffin-Lim).
        rand_init: start from random phases (true) or from zero phase (false).
        seed: random seed of the initial phases, 0 to 2**31 - 1.
        length: output length in samples (0 = the input's length).
        n_mels: mel bands when source is "mel", 8 to 256 (ignored for "linear").

    Returns:
        the Griffin-Lim reconstruction (float WAV), the true-phase inverse (float WAV), the metrics dict (notes;
        per method: spectral_convergence_db, snr_db, si_sdr_db, log_spectral_distance_db; settings; seconds;
        convergence_db per iteration), the convergence plot, the spectrogram comparison, the torchaudio code.
    """
    path = require_audio(audio)
    decoded = aio.decode(path, max_seconds=limits.GL_MAX_DURATION_S)
    r = griffinlim.reconstruct(
        decoded.waveform, decoded.sample_rate, source=source, n_fft=n_fft, win_length=win_length,
        hop_length=hop_length, power=power, n_iter=n_iter, momentum=momentum, rand_init=rand_init, seed=seed,
        length=length, n_mels=n_mels, progress=_progress_reporter(progress),
    )  # fmt: skip
    r.notes[:0] = decoded.notes
    against = "the InverseMelScale estimate" if r.settings.source == "mel" else "the original magnitude"
    n = r.original.shape[-1]
    code = griffinlim_snippets.griffinlim_snippet(
        Path(path).name, r.settings, input_samples=n, num_frames=-1 if n == decoded.info.num_frames else n
    )
    return (
        audio_file("griffin_lim.wav", r.griffin_lim, r.sample_rate, bits="float"),
        audio_file("true_phase_inverse.wav", r.true_phase, r.sample_rate, bits="float"),
        r.report(),
        image_file(
            griffinlim.convergence_image(r.convergence_db, title=f"Spectral convergence against {against}"),
            "convergence.png",
        ),
        image_file(
            griffinlim.comparison_image(
                r.original_mag, r.reconstruction_mag, sample_rate=r.sample_rate, duration_s=n / r.sample_rate
            ),
            "spectrograms.png",
        ),
        code,
    )


@user_errors
def compare_reconstructions(audio, reconstruction, true_phase, align, match_loudness):
    """The original (A) against the Griffin-Lim reconstruction and the true-phase inverse (B), through the
    Compare engine: the figures of each, both difference spectrograms, the code of the first."""
    path = require_audio(audio)
    if not (input_path(reconstruction) and input_path(true_phase)):
        return gr.skip(), gr.skip(), gr.skip()
    reports, files, codes = zip(*(
        compare_paths(path, input_path(b), align, match_loudness, max_seconds_a=limits.GL_MAX_DURATION_S,
                      names=(Path(path).name, name))
        for b, name in ((reconstruction, "griffin_lim.wav"), (true_phase, "true_phase_inverse.wav"))
    ), strict=True)  # fmt: skip
    return {"griffin_lim": reports[0], "true_phase_inverse": reports[1]}, list(files), codes[0]


@user_errors
def reconstruction_view(audio, reconstruction, true_phase, align):
    """The timeline of the original (A), the Griffin-Lim reconstruction (B) and the true-phase inverse (C)."""
    path = require_audio(audio)
    if not (input_path(reconstruction) and input_path(true_phase)):
        return gr.skip()
    others = [(input_path(reconstruction), timeline.label("tl_reconstruction")),
              (input_path(true_phase), timeline.label("tl_true_phase"))]  # fmt: skip
    return ab_view(path, others, align, name_a=timeline.label("tl_original"), max_seconds_a=limits.GL_MAX_DURATION_S)


def _controls() -> list:
    """The parameter widgets, in the order ``griffin_lim`` takes them (after the audio)."""
    source = gr.Radio(list(griffinlim.SOURCES), value="linear", label=t("gl_source"), elem_id="gl-source")
    with gr.Row():
        lo, hi = min(limits.GL_N_FFT_CHOICES), max(limits.GL_N_FFT_CHOICES)  # a Number: an integer in the API
        n_fft = gr.Number(1024, label=t("gl_n_fft"), precision=0, minimum=lo, maximum=hi, elem_id="gl-n-fft")
        # no minimum/maximum on these: the engine's checks name the field ("hop_length=0 is out of range ...")
        win = gr.Number(1024, label=t("gl_win_length"), precision=0)
        hop = gr.Number(256, label=t("gl_hop_length"), precision=0)
    power = gr.Slider(*limits.GL_POWER_RANGE, value=2.0, step=0.1, label=t("gl_power"))
    with gr.Row():
        n_iter = gr.Slider(*limits.GL_N_ITER_RANGE, value=32, step=1, label=t("gl_n_iter"), elem_id="gl-n-iter")
        momentum = gr.Slider(*limits.GL_MOMENTUM_RANGE, value=0.99, step=0.01, label=t("gl_momentum"))
    with gr.Row():
        rand_init = gr.Checkbox(True, label=t("gl_rand_init"))
        seed = gr.Number(0, label=t("gl_seed"), precision=0)
        length = gr.Number(0, label=t("gl_length"), precision=0)
    n_mels = gr.Slider(*limits.GL_N_MELS_RANGE, value=80, step=1, label=t("gl_n_mels"), visible=False)
    n_fft.change(lambda n: (n, int(n) // 4) if n else (gr.skip(), gr.skip()), n_fft, [win, hop], api_name=False)
    source.change(lambda s: gr.Slider(visible=s == "mel"), source, n_mels, api_name=False)
    return [source, n_fft, win, hop, power, n_iter, momentum, rand_init, seed, length, n_mels]


def build(shared: dict) -> None:
    """Lay out the Griffin-Lim tab inside the current ``gr.Tab``."""
    gr.Markdown(t("gl_intro"))
    with gr.Row():
        with gr.Column(scale=2):
            audio_in = audio_input(t("gl_input"), "gl-input", t("gl_examples"))
            controls = _controls()
            run = gr.Button(t("gl_run"), variant="primary", elem_id="gl-run")
        with gr.Column(scale=3):
            notes = notes_area("gl-notes")
            result = gr.Audio(label=t("gl_result"), type="filepath", interactive=False, elem_id="gl-result",
                              buttons=["download"])  # fmt: skip
            true_phase = gr.Audio(label=t("gl_true_phase"), type="filepath", interactive=False,
                                  elem_id="gl-true-phase", buttons=["download"])  # fmt: skip
            metrics = gr.JSON(label=t("gl_metrics"), elem_id="gl-metrics")
            convergence = described_figure(t("gl_convergence"), "gl-convergence")
    view = timeline.timeline("gl-timeline", label=t("tl_label"))  # original, reconstruction, true-phase inverse
    spectrograms = described_figure(t("gl_spectrograms"), "gl-spectrograms")
    compare_panel = build_compare(shared, prefix="gl-cmp", files=2)  # original vs both reconstructions
    with gr.Accordion(t("code_panel"), open=False):
        code = gr.Code(language="python", elem_id="gl-code")
        notebook_button(code, "griffinlim", "gl-notebook")
    follow_audio(shared, audio_in)

    outputs = [result, true_phase, metrics, convergence, spectrograms, code]
    event = run.click(griffin_lim, [audio_in, *controls], outputs, api_name="griffin_lim")
    event.success(lambda report: notes_markdown(report.get("notes", [])), metrics, notes, api_name=False)
    keep_notes(event, notes, griffin_lim)
    compare_inputs = [audio_in, result, true_phase, compare_panel.align, compare_panel.match]
    for trigger in (event.success, compare_panel.button.click):
        trigger(compare_reconstructions, compare_inputs, compare_panel.outputs, api_name=False)
        trigger(reconstruction_view, compare_inputs[:4], view, api_name=False)
