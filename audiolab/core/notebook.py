"""A tab's code panel as a Jupyter notebook (``.ipynb``, nbformat 4), explained in English or Chinese.

:func:`build` splits the snippet into cells at its top-level blank lines, puts a short
explanation (in the UI language) above each, starts with a cell that installs the pinned
torch, torchaudio and torchcodec when they are missing (so it runs in Colab as it is), and
ends with a matplotlib plot of the result, drawn as the torchaudio tutorials draw theirs.
The code cells are the snippet itself, unchanged: run top to bottom they give the same
tensors as the app.
"""

from __future__ import annotations

import importlib.metadata
import re
from dataclasses import dataclass

import nbformat
from nbformat import v4

PINNED = ("torch", "torchaudio", "torchcodec")  # installed by the first cell when another version is present


@dataclass(frozen=True)
class Kind:
    """What a tab's notebook is about: its title, what the reader needs, the result variable and its plot."""

    title: tuple[str, str]
    needs: tuple[str, str]
    plot: str  # code of the last cell, a template: ``{...}`` fields from ``fields`` and build()'s ``plot``
    fields: tuple[tuple[str, str], ...] = ()


_WAVEFORM_PLOT = '''import matplotlib.pyplot as plt
import torch


def plot_waveform(waveform, sample_rate, title="{title}"):
    """One row per channel, time in seconds (as in the torchaudio tutorials)."""
    waveform = waveform.detach().cpu()
    num_channels, num_frames = waveform.shape
    time_axis = torch.arange(0, num_frames) / sample_rate
    figure, axes = plt.subplots(num_channels, 1, figsize=(10, 2 + 1.5 * num_channels), squeeze=False)
    for c in range(num_channels):
        axes[c][0].plot(time_axis, waveform[c], linewidth=0.6)
        axes[c][0].grid(True)
        axes[c][0].set_ylabel(f"Channel {{c + 1}}")
    axes[-1][0].set_xlabel("Time (s)")
    figure.suptitle(title)
    plt.show()


plot_waveform({var}, sample_rate)
'''

_FEATURE_PLOT = '''import matplotlib.pyplot as plt


def plot_feature(x, title="feature"):
    """Channel 0 of a (channel, ..., time) tensor: an image for 2-D features, lines for 1-D ones."""
    x = x.detach().cpu()
    x = x.abs() if x.is_complex() else x
    fig, ax = plt.subplots(figsize=(10, 4))
    if x.dim() == 1:  # one value per channel (loudness)
        ax.bar(range(len(x)), x)
        ax.set_xlabel("Channel")
    elif x.dim() == 2 and title == "mel_filterbank":  # (n_freqs, n_mels): one line per filter
        ax.plot(x)
        ax.set_xlabel("Frequency bin")
    elif x.dim() == 2:  # (channel, time)
        for c, row in enumerate(x):
            ax.plot(row, label=f"channel {{c + 1}}")
        ax.legend()
        ax.set_xlabel("Frame")
    elif x.dim() == 3 and x.shape[-1] == 2:  # (channel, frame, [nccf, f0])
        ax.plot(x[0, :, 1])
        ax.set(xlabel="Frame", ylabel="f0 (Hz)")
    else:  # (channel, freq, time) or (channel, order, coeff, time)
        image = x[0] if x.dim() == 3 else x[0, 0]
        im = ax.imshow(image, origin="lower", aspect="auto", interpolation="nearest")
        fig.colorbar(im, ax=ax)
        ax.set_xlabel("Frame")
    ax.set_title(title)
    plt.show()


plot_feature(feature, {title!r})
'''

_WAV2VEC2_PLOT = """import matplotlib.pyplot as plt

result = {var}
image = result[0].T if result.dim() == 3 else result.T  # (tokens or dim, frames)
plt.figure(figsize=(10, 4))
plt.imshow(image, aspect="auto", interpolation="nearest", origin="lower")
plt.colorbar()
plt.xlabel("Frame")
plt.title({title!r})
plt.show()
"""

_TRAIN_PLOT = """import matplotlib.pyplot as plt

plt.figure(figsize=(8, 3))
plt.plot(range(1, len(history) + 1), history, marker="o")
plt.xlabel("Epoch")
plt.ylabel("Training loss")
plt.grid(True)
plt.show()
"""

_AUDIO_NEEDS = (
    "Put the audio file `{file}` next to this notebook (in Colab: the Files panel, Upload).",
    "把音频文件 `{file}` 放在本笔记本旁边（Colab 中：左侧“文件”面板，上传）。",
)
KINDS = {
    "audio": Kind(("Load, slice, resample and save audio", "加载、截取、重采样并保存音频"), _AUDIO_NEEDS,
                  _WAVEFORM_PLOT, (("title", "Waveform"), ("var", "waveform"))),
    "features": Kind(("Audio features with torchaudio", "用 torchaudio 计算音频特征"), _AUDIO_NEEDS, _FEATURE_PLOT,
                     (("title", "feature"),)),
    "augment": Kind(("Data augmentation with torchaudio", "用 torchaudio 做数据增强"), _AUDIO_NEEDS,
                    _WAVEFORM_PLOT, (("title", "Augmented"), ("var", "waveform"))),
    "griffinlim": Kind(("Griffin-Lim: audio back from a spectrogram", "Griffin-Lim：从频谱重建音频"), _AUDIO_NEEDS,
                       _WAVEFORM_PLOT, (("title", "Griffin-Lim reconstruction"), ("var", "reconstruction"))),
    "wav2vec2": Kind(("wav2vec2 with torchaudio", "用 torchaudio 运行 wav2vec2"), _AUDIO_NEEDS, _WAV2VEC2_PLOT,
                     (("title", "Emissions"), ("var", "emission"))),
    "train": Kind(
        ("Train a new head on a frozen backbone", "在冻结的骨干网络上训练新的分类头"),
        ("Unzip `train_head.zip` from the app next to this notebook: the code reads its `clips/` folder.",
         "把应用中下载的 `train_head.zip` 解压到本笔记本旁边：代码会读取其中的 `clips/` 文件夹。"),
        _TRAIN_PLOT,
    ),
}  # fmt: skip

# (pattern found in a cell, explanation): the first match explains the cell
EXPLANATIONS: tuple[tuple[str, tuple[str, str]], ...] = (
    (r"^\s*(import|from) \S+", ("Imports.", "导入所需的库。")),
    (r"^def ", ("A helper function, used in the cells below.", "辅助函数，供下面的单元格使用。")),
    (r"^device = torch\.device", ("The device: the GPU when there is one.", "计算设备：有 GPU 时使用 GPU。")),
    (r"AudioDecoder\(", ("Read the file's metadata (header only) with torchcodec.", "用 torchcodec 读取文件的元数据（只读文件头）。")),  # noqa: E501
    (r"hf_hub_download|load_file\(|wav2vec2_model\(", ("Build the wav2vec2 model from the checkpoint's files.", "用检查点文件构建 wav2vec2 模型。")),  # noqa: E501
    (r"pipelines\.|get_model\(", ("Get the pre-trained model from a torchaudio pipeline bundle.", "从 torchaudio 的 pipeline bundle 获取预训练模型。")),  # noqa: E501
    (r"forced_align", ("Forced alignment: where each token of the transcript is in time.", "强制对齐：转写中每个字符在时间上的位置。")),  # noqa: E501
    (r"extract_features", ("The output of every transformer layer; keep the chosen one.", "取出每个 Transformer 层的输出，保留所选层。")),  # noqa: E501
    (r"log_softmax|emission", ("Emissions: log-probabilities of each token for each frame, then greedy decoding.", "发射矩阵：每帧每个字符的对数概率，再贪心解码。")),  # noqa: E501
    (r"GriffinLim", ("Griffin-Lim: estimate a phase for the magnitudes, iteration by iteration.", "Griffin-Lim：逐次迭代，为幅度谱估计相位。")),  # noqa: E501
    (r"InverseSpectrogram", ("The reference: invert the complex STFT with its true phase.", "参照：用真实相位对复数 STFT 求逆。")),  # noqa: E501
    (r"spectral convergence|sc_db", ("How close the result is: spectral convergence in dB.", "结果有多接近：以 dB 表示的谱收敛度。")),  # noqa: E501
    (r"inference_mode|backbone\(", ("Features of the frozen backbone, computed once.", "冻结骨干网络的特征，只计算一次。")),  # noqa: E501
    (r"optim\.SGD|backward\(\)", ("Train the new head: forward, loss, backward(), optimizer step.", "训练新的分类头：前向、损失、backward()、优化器更新。")),  # noqa: E501
    (r"confusion", ("Held-out confusion matrix, and the head saved as head.pt.", "留出集的混淆矩阵，并把分类头保存为 head.pt。")),  # noqa: E501
    (r"torchaudio\.load\(|def load\(", ("Load the audio: a float32 tensor shaped (channel, time), values in [-1, 1].", "加载音频：形状为 (channel, time) 的 float32 张量，取值在 [-1, 1]。")),  # noqa: E501
    (r"T\.MelSpectrogram|T\.MFCC|T\.LFCC|T\.Spectrogram|melscale_fbanks|compute_deltas|sliding_window_cmn|SpectralCentroid|loudness|detect_pitch|nccf_pitch",
     ("Compute the feature with torchaudio, one channel at a time.", "用 torchaudio 计算特征，每个声道分别计算。")),
    (r"fit\(|op\b|T\.|F\.", ("The augmentation steps, in order.", "按顺序执行各个增强步骤。")),
    (r"torchaudio\.save|torch\.save", ("Save the result.", "保存结果。")),
)  # fmt: skip

_INSTALL = """# Colab or a fresh environment: install the versions this notebook was made with (skipped when present)
import importlib.metadata
import subprocess
import sys

PINNED = {pinned!r}


def installed(name):
    try:
        return importlib.metadata.version(name).split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        return None


missing = [f"{{name}}=={{version}}" for name, version in PINNED.items() if installed(name) != version]
if missing:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
print("torch, torchaudio, torchcodec:", [installed(name) for name in PINNED])
"""

_TEXT = {
    "intro": (
        "Made by **TorchAudio Lab**: the code the app showed, split into cells. Run them from top to bottom "
        "(Colab: *Runtime → Run all*); the last cell plots the result with matplotlib.",
        "由 **TorchAudio 实验室** 生成：应用中显示的代码，拆分成多个单元格。请从上到下依次运行"
        "（Colab：*代码执行程序 → 全部运行*）；最后一个单元格用 matplotlib 画出结果。",
    ),
    "install": (
        "Install the pinned torch, torchaudio and torchcodec (only when other versions are installed).",
        "安装固定版本的 torch、torchaudio 和 torchcodec（仅当已安装的版本不同时）。",
    ),
    "step": ("Step {n}.", "第 {n} 步。"),
    "plot": ("Plot the result.", "画出结果。"),
}


def _lang(language: str) -> int:
    return 1 if language.lower().startswith("zh") else 0


def split_cells(code: str) -> list[str]:
    """The snippet's top-level blocks: a new cell starts after a blank line, at an unindented line
    (not inside brackets, a function or a string); the imports at the top stay together."""
    blocks: list[list[str]] = [[]]
    depth, blank = 0, False
    for line in code.strip("\n").split("\n"):
        starts_block = blank and depth == 0 and line[:1] not in ("", " ", "\t", ")", "]", "}", "#")
        if starts_block and not _is_import_block(blocks[-1], line):
            blocks.append([])
        blank = not line.strip()
        blocks[-1].append(line)
        depth = max(depth + _bracket_balance(line), 0)
    return ["\n".join(b).strip("\n") for b in blocks if any(x.strip() for x in b)]


def _is_import_block(block: list[str], line: str) -> bool:
    is_import = re.match(r"(import|from) \S+", line) is not None
    return is_import and all(not x.strip() or re.match(r"(import|from) \S+|#", x) for x in block)


def _bracket_balance(line: str) -> int:
    text = re.sub(r"'[^']*'|\"[^\"]*\"|#.*$", "", line)  # strings and comments do not count
    return sum(text.count(c) for c in "([{") - sum(text.count(c) for c in ")]}")


def explain(cell: str, language: str, n: int) -> str:
    """A short explanation of a code cell in ``language`` (``"zh..."`` or English): the first two
    entries of :data:`EXPLANATIONS` it matches, else "Step n"."""
    lang = _lang(language)
    found = [texts[lang] for pattern, texts in EXPLANATIONS if re.search(pattern, cell, flags=re.MULTILINE)]
    if not found:
        return _TEXT["step"][lang].format(n=n)
    return ("" if lang else " ").join(dict.fromkeys(found[:2]))


def audio_file_of(code: str) -> str:
    """The audio file a snippet reads (its first ``torchaudio.load``/``AudioDecoder`` argument)."""
    match = re.search(r"(?:torchaudio\.load|AudioDecoder)\((['\"])(.+?)\1", code)
    return match.group(2) if match else "input.wav"


def pinned_versions() -> dict[str, str]:
    """The versions of torch, torchaudio and torchcodec running this app (requirements.txt pins them)."""
    out = {}
    for name in PINNED:
        try:
            out[name] = importlib.metadata.version(name).split("+")[0]
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def build(code: str, kind: str, *, language: str = "en", file: str = "input.wav",
          plot: dict | None = None) -> nbformat.NotebookNode:  # fmt: skip
    """The notebook of ``code`` from the tab ``kind`` (a key of :data:`KINDS`).

    ``file`` is the audio file the code reads (the reader is told to put it next to the
    notebook); ``plot`` fills the plot cell's ``{...}`` fields (e.g. ``{"title": "mfcc"}``).
    """
    spec, lang = KINDS[kind], _lang(language)
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    intro = f"# {spec.title[lang]}\n\n{_TEXT['intro'][lang]}\n\n{spec.needs[lang].format(file=file)}"
    cells = [v4.new_markdown_cell(intro), v4.new_markdown_cell(_TEXT["install"][lang]),
             v4.new_code_cell(_INSTALL.format(pinned=pinned_versions()).strip())]  # fmt: skip
    for n, block in enumerate(split_cells(code), start=1):
        cells += [v4.new_markdown_cell(explain(block, language, n)), v4.new_code_cell(block)]
    fields = {**dict(spec.fields), **(plot or {})}
    cells += [v4.new_markdown_cell(_TEXT["plot"][lang]), v4.new_code_cell(spec.plot.format(**fields).strip())]
    nb.cells = cells
    nbformat.validate(nb)
    return nb


def to_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The ``.ipynb`` file's bytes (UTF-8 JSON)."""
    return nbformat.writes(nb).encode("utf-8")
