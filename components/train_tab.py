"""Train tab: freeze a backbone, train a new ``nn.Linear`` head on your own labelled clips.

API names (inputs -> outputs), see README:
- ``builtin_set(seed)`` -> clip files, labels (JSON list, one per clip), clips per label
- ``train_head(clips, labels, backbone, model, layer, n_mfcc, epochs, lr, momentum, batch_size,
  test_fraction, seed)`` -> loss/accuracy curve, parameter counts, status, results dict (loss curve,
  accuracies, confusion matrix, ...), confusion image, head ``.pt``, code ``.zip``, code text.
  The trained head is kept in the session (``gr.State``) for ``classify``.
- ``classify(audio, head_file)`` -> class probabilities (the session's head, or an uploaded ``.pt``), notes
- ``builtin_clip(label, seed, index)`` -> a synthesized clip of a built-in label (WAV)
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import zipfile
from pathlib import Path

import gradio as gr

from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.core.errors import AudioLabError, Note
from audiolab.train import compute as train
from audiolab.train import snippets as train_snippets
from audiolab.wav2vec2 import models as w2v_models
from components.common import (
    audio_file,
    audio_input,
    choices_in,
    described_figure,
    empty_table,
    follow_audio,
    image_file,
    input_path,
    keep_notes,
    notes_area,
    notes_markdown,
    output_file,
    per_language,
    plain_markdown,
    request_language,
    require_audio,
    streamed,
    table,
    user_errors,
)
from components.i18n import register, t, text
from components.notebooks import notebook_button
from components.wav2vec2_tab import layer_slider, model_options

register(
    {
        "train_tab_title": ("Train", "训练"),
        "train_intro": (
            "Transfer learning, the autograd way: a **frozen** backbone (every parameter `requires_grad=False`) "
            "turns each clip into one feature vector (averaged over time), computed **once** under "
            "`torch.inference_mode()`. A new head, `nn.Linear(feature_dim, n_labels)`, is the only trainable "
            "part: `loss.backward()` fills the `.grad` of its weight and bias only, and `optim.SGD` steps them. "
            "Record a few clips for 2 to 10 labels, or load the built-in set, then train and try a new clip.",
            "用 autograd 做迁移学习：**冻结**的骨干网络（所有参数 `requires_grad=False`）把每个片段变成一个"
            "特征向量（对时间取平均），只在 `torch.inference_mode()` 下计算**一次**。新的分类头 "
            "`nn.Linear(feature_dim, n_labels)` 是唯一可训练的部分：`loss.backward()` 只为它的权重和偏置填充 "
            "`.grad`，由 `optim.SGD` 更新。为 2 到 10 个标签录几段音频，或加载内置数据集，然后训练并试试新片段。",
        ),
        "train_step_data": ("1. Clips and labels", "1. 片段与标签"),
        "train_builtin": (
            "Load the built-in set (low tone / high tone / noise)",
            "加载内置数据集（低音 / 高音 / 噪声）",
        ),
        "train_new_label": ("Label of the clips to add (e.g. yes)", "要添加的片段的标签（例如 yes）"),
        "train_record": ("Record or upload one clip", "录制或上传一个片段"),
        "train_upload_many": ("…or upload several clips with this label", "……或上传多个同一标签的片段"),
        "train_own": ("…or record / upload your own clips", "……或录制 / 上传你自己的片段"),
        "train_add": ("Add to the set", "加入数据集"),
        "train_clear": ("Clear the set", "清空数据集"),
        "train_clips": ("Clips in the set (in order)", "数据集中的片段（按顺序）"),
        "train_labels": (
            "Label of each clip (JSON list, same order; editable)",
            "每个片段的标签（JSON 列表，同样顺序；可编辑）",
        ),
        "train_summary": ("Clips per label", "每个标签的片段数"),
        "train_step_model": ("2. Backbone and training", "2. 骨干网络与训练"),
        "train_backbone": ("Frozen backbone", "冻结的骨干网络"),
        "train_n_mfcc": ("MFCC coefficients (feature size)", "MFCC 系数个数（特征维度）"),
        "train_w2v_model": ("wav2vec2 model (pre-trained, frozen)", "wav2vec2 模型（预训练，冻结）"),
        "train_w2v_layer": ("Transformer layer whose output is averaged", "取平均的 Transformer 层"),
        "train_epochs": ("Epochs", "训练轮数"),
        "train_lr": ("SGD learning rate (lr)", "SGD 学习率（lr）"),
        "train_momentum": ("SGD momentum", "SGD 动量"),
        "train_batch": ("Batch size (clips per step)", "批大小（每步片段数）"),
        "train_test_fraction": ("Held-out share of each label's clips", "每个标签留作测试的比例"),
        "train_seed": (
            "Seed (split, head init, shuffling, built-in set)",
            "随机种子（划分、初始化、打乱、内置数据集）",
        ),
        "train_run": ("Train the head", "训练分类头"),
        "train_params": ("Parameters", "参数"),
        "train_status": ("Progress", "进度"),
        "train_curve": ("Loss and accuracy per epoch", "每轮的损失与准确率"),
        "train_confusion": ("Confusion matrix of the held-out clips", "留出片段的混淆矩阵"),
        "train_results": ("Results (JSON)", "结果（JSON）"),
        "train_head_file": ("Trained head (.pt)", "训练好的分类头（.pt）"),
        "train_code_file": ("Code + clips that reproduce the training (.zip)", "复现训练的代码与片段（.zip）"),
        "train_step_try": ("3. Classify a new clip", "3. 对新片段分类"),
        "train_try_audio": ("Clip to classify (upload or record)", "要分类的片段（上传或录音）"),
        "train_examples": ("Examples (synthesized by us)", "示例（我们自己合成）"),
        "train_make_label": ("Built-in label", "内置标签"),
        "train_make_index": ("Clip number (0-15 are in the built-in training set)", "片段编号（0-15 在内置训练集中）"),
        "train_make": ("Make a new built-in clip", "生成一个新的内置片段"),
        "train_head_upload": (
            "…or classify with a head file (.pt) saved earlier",
            "……或使用之前保存的分类头文件（.pt）",
        ),
        "train_classify": ("Classify", "分类"),
        "train_probs": ("Class probabilities", "各类别概率"),
        "train_notes": ("Notes", "说明"),
        "train_training": ("Training…", "训练中…"),
        "train_what_mfcc": (
            "MFCC, {dim} coefficients: no parameters, only {buffers:,} buffer values (mel filterbank, DCT, window)",
            "MFCC，{dim} 个系数：没有参数，只有 {buffers:,} 个缓冲区数值（梅尔滤波器组、DCT、窗函数）",
        ),
        "train_what_wav2vec2": ("{model}, layer {layer}", "{model}，第 {layer} 层"),
        "train_params_md": (
            "**Trainable: {trainable:,}** parameters, the head `nn.Linear({dim}, {n})` ({weights:,} weights + {n} "
            "biases)  \n**Frozen: {frozen:,}** parameters, the backbone ({what})  \nFeatures of {clips} clips "
            "computed once in {seconds:.2f} s under `torch.inference_mode()`; {n_train} clips train, {n_test} are "
            "held out.",
            "**可训练：{trainable:,}** 个参数，即分类头 `nn.Linear({dim}, {n})`（{weights:,} 个权重 + {n} 个偏置）  \n"
            "**冻结：{frozen:,}** 个参数，即骨干网络（{what}）  \n{clips} 个片段的特征在 `torch.inference_mode()` 下"
            "只计算一次，用时 {seconds:.2f} 秒；{n_train} 个片段用于训练，{n_test} 个留出。",
        ),
        "train_epoch_line": (
            "Epoch {epoch}/{epochs} on {device}: loss {loss:.4f}, train accuracy {train:.0%}, held-out accuracy "
            "{test:.0%}, ‖fc.weight.grad‖ {grad:.3g}",
            "第 {epoch}/{epochs} 轮（{device}）：损失 {loss:.4f}，训练准确率 {train:.0%}，留出准确率 {test:.0%}，"
            "‖fc.weight.grad‖ {grad:.3g}",
        ),
        "train_done_line": (
            "**Done** in {seconds:.2f} s. {line}. Backbone parameters with a `.grad`: {grads}.",
            "**完成**，用时 {seconds:.2f} 秒。{line}。带有 `.grad` 的骨干网络参数：{grads}。",
        ),
        "train_none": ("none", "无"),
    }
)

BACKBONE_CHOICES = [("MFCC (no weights)", "mfcc"), ("wav2vec2 (pre-trained, frozen)", "wav2vec2")]
SUMMARY_HEADERS = ["label", "clips"]
SUMMARY_KEYS = ["train_h_label", "train_h_clips"]
register(
    {
        "train_backbone_mfcc": (BACKBONE_CHOICES[0][0], "MFCC（无权重）"),
        "train_backbone_wav2vec2": (BACKBONE_CHOICES[1][0], "wav2vec2（预训练，冻结）"),
        "train_h_label": (SUMMARY_HEADERS[0], "标签"),
        "train_h_clips": (SUMMARY_HEADERS[1], "片段数"),
    }
)


# --- the set of clips ---------------------------------------------------------------------------


def _paths(files) -> list[str]:
    return [p for p in (input_path(f) for f in (files or [])) if p]


def _summary(labels_text: str) -> list[list]:
    try:
        labels = train.parse_labels(labels_text)
    except AudioLabError:
        return table([], SUMMARY_KEYS)
    return table([[name, labels.count(name)] for name in dict.fromkeys(labels)], SUMMARY_KEYS)


def _set_outputs(paths: list[str], labels: list[str]) -> tuple:
    text = json.dumps(labels, ensure_ascii=False)
    return paths, text, _summary(text)


@user_errors
def builtin_set(seed):
    """A built-in labelled training set, synthesized: 16 clips each of "low tone", "high tone" and "noise".

    Args:
        seed: random seed of the synthesis, 0 to 2**31 - 1 (the same seed gives the same clips).

    Returns:
        the clips (16 kHz WAV files), their labels (JSON list, one per clip, same order), clips per label (table).
    """
    clips = train.builtin_set(seed=seed)
    paths = [audio_file(name, w, clips.sample_rate)
             for name, w in zip(clips.names, clips.waveforms, strict=True)]  # fmt: skip
    return _set_outputs(paths, [clips.labels[i] for i in clips.targets.tolist()])


@user_errors
def add_clips(files, labels_text, label, recording, uploads):
    """Append the recording and/or uploaded files with ``label`` to the set."""
    label = train.check_label(label)
    new = _paths([recording]) + _paths(uploads)
    if not new:
        raise AudioLabError(
            "Record or upload a clip first, then press 'Add to the set'.",
            zh="请先录制或上传一个片段，再点击“添加到数据集”。",
        )
    paths, labels = _paths(files), train.parse_labels(labels_text)
    if len(paths) != len(labels):
        raise AudioLabError(
            f"The set has {len(paths)} clips but {len(labels)} labels; clear it and start again.",
            zh=f"数据集有 {len(paths)} 个片段但有 {len(labels)} 个标签；请清空后重新开始。",
        )
    if len(paths) + len(new) > limits.TRAIN_MAX_CLIPS:
        raise AudioLabError(
            f"A set holds at most {limits.TRAIN_MAX_CLIPS} clips; it has {len(paths)}.",
            zh=f"一个数据集最多 {limits.TRAIN_MAX_CLIPS} 个片段；当前有 {len(paths)} 个。",
        )
    return (*_set_outputs(paths + new, labels + [label] * len(new)), None, None)


# --- training -------------------------------------------------------------------------------------


def _decode(path: str, number: int = 0) -> aio.Decoded:
    """The first ``TRAIN_MAX_CLIP_S`` seconds of a clip (only those are decoded)."""
    try:
        rate = limits.check_sample_rate(aio.info(path).sample_rate)
        return aio.decode(path, num_frames=int(limits.TRAIN_MAX_CLIP_S * rate) + 1)
    except AudioLabError as err:
        if not number:
            raise
        raise AudioLabError(
            f"Clip {number} ({Path(path).name}): {err}", zh=f"片段 {number}（{Path(path).name}）：{err.text('zh')}"
        ) from None


def _clip_set(files, labels_text) -> train.ClipSet:
    paths, labels = _paths(files), train.parse_labels(labels_text)
    if len(paths) > limits.TRAIN_MAX_CLIPS:
        raise AudioLabError(
            f"{len(paths)} clips were given; a set holds at most {limits.TRAIN_MAX_CLIPS}.",
            zh=f"给出了 {len(paths)} 个片段；一个数据集最多 {limits.TRAIN_MAX_CLIPS} 个。",
        )
    if len(paths) != len(labels):
        raise AudioLabError(
            f"There are {len(paths)} clips but {len(labels)} labels: give one label per clip.",
            zh=f"有 {len(paths)} 个片段，但有 {len(labels)} 个标签：请为每个片段给一个标签。",
        )
    train.check_counts(labels)  # before any decoding
    clips = [(d.waveform, d.sample_rate) for d in (_decode(p, i + 1) for i, p in enumerate(paths))]
    return train.clip_set(clips, labels, names=[Path(p).name for p in paths])


def _params_md(p: train.Prepared, language: str = "en") -> str:
    """Trainable and frozen parameter counts, in ``language``."""
    dim, n = p.features.shape[1], len(p.labels)
    if p.backbone["kind"] == "mfcc":
        what = text("train_what_mfcc", language).format(dim=dim, buffers=p.backbone_buffers)
    else:
        model = plain_markdown(str(p.backbone["model"]))
        what = text("train_what_wav2vec2", language).format(model=model, layer=p.backbone["layer"])
    return text("train_params_md", language).format(
        trainable=p.trainable_parameters, dim=dim, n=n, weights=dim * n, frozen=p.frozen_parameters, what=what,
        clips=len(p.targets), seconds=p.feature_seconds, n_train=len(p.train_idx), n_test=len(p.test_idx),
    )  # fmt: skip


def _status(r: train.TrainResult, with_grad: list[str] | None = None, language: str = "en") -> str:
    """The progress line of the last epoch; when done, the summary and the notes, in ``language``."""
    line = text("train_epoch_line", language).format(
        epoch=len(r.epochs), epochs=r.config.epochs, device=r.device, loss=r.loss[-1], train=r.train_accuracy[-1],
        test=r.test_accuracy[-1], grad=r.grad_norm[-1],
    )  # fmt: skip
    if not r.done:
        return line
    grads = ", ".join(with_grad or []) or text("train_none", language)
    done = text("train_done_line", language).format(seconds=r.seconds, line=line, grads=grads)
    notes = [note.text(language) if isinstance(note, Note) else str(note) for note in r.notes]
    return "\n".join([done, *(f"- {plain_markdown(note)}" for note in notes)])


def _code_zip(clips: train.ClipSet, prepared: train.Prepared, config: train.TrainConfig) -> tuple[str, str]:
    """The snippet and a zip holding it with the clips as the app trained on them (16 kHz mono float WAV)."""
    files = [f"clips/{i:03d}_{re.sub(r'[^A-Za-z0-9_-]+', '_', Path(name).stem)[:40]}.wav"
             for i, name in enumerate(clips.names)]  # fmt: skip
    model = w2v_models.load_model(prepared.backbone["model"]) if prepared.backbone["kind"] == "wav2vec2" else None
    code = train_snippets.train_snippet(files, prepared, config, model=model)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("train_head.py", code)
        for name, waveform in zip(files, clips.waveforms, strict=True):
            data = aio.encode(waveform, clips.sample_rate, "wav", bits="float")
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED)  # float samples hardly compress
    return code, output_file("train_head.zip", buf.getvalue())


@streamed
def train_head(files, labels_text, backbone, model, layer, n_mfcc, epochs, lr, momentum, batch_size,
               test_fraction, seed):  # fmt: skip
    """Train a new linear head (nn.Linear + SGD) on a frozen backbone (MFCC or wav2vec2) with labelled clips.

    Args:
        files: the clips (URLs or files; 2 to 120, each cut to 5 s, mixed to mono, resampled to 16 kHz).
        labels_text: JSON list of labels, one per clip in the same order (2 to 10 labels, 2+ clips each).
        backbone: the frozen feature extractor: "mfcc" (no weights) or "wav2vec2" (pre-trained).
        model: wav2vec2 model name from list_models (backbone "wav2vec2" only), e.g. "WAV2VEC2_BASE".
        layer: wav2vec2 transformer layer whose output is averaged over time, 1 to the model's layers.
        n_mfcc: MFCC coefficients, the feature size of the "mfcc" backbone, 8 to 64.
        epochs: passes over the training clips, 1 to 300 (training stops after 30 s, keeping the head).
        lr: SGD learning rate, 1e-5 to 1.
        momentum: SGD momentum, 0 to 0.99.
        batch_size: clips per SGD step, 1 to 128.
        test_fraction: share of each label's clips held out for testing, 0.1 to 0.5.
        seed: random seed of the split, the head's initialisation and the shuffling, 0 to 2**31 - 1.

    Returns:
        streamed per epoch, then final: the loss/accuracy curve image, parameter counts (markdown), status,
        a results dict (labels; loss, train_accuracy per epoch; test_accuracy; confusion matrix; counts), the
        confusion matrix image, the head .pt, a zip with code and clips that reproduce the training, the code.
    """
    config = train.TrainConfig(epochs, lr, momentum, batch_size, test_fraction, seed).checked()
    config_b = train.backbone_config(backbone, n_mfcc=n_mfcc, model=model, layer=layer)
    clips = _clip_set(files, labels_text)
    backbone = train.load_backbone(config_b)
    prepared = train.prepare(clips, backbone, config)
    skip = gr.skip()
    language = request_language()
    yield skip, _params_md(prepared, language), text("train_training", language), skip, skip, skip, skip, skip, skip
    shown = 0.0
    for result in train.fit(prepared, config):
        if result.done or time.monotonic() - shown > limits.TRAIN_PLOT_INTERVAL_S:
            shown = time.monotonic()
            curve = image_file(train.curve_image(result), "curve.png")
            if not result.done:
                yield curve, skip, _status(result, language=language), skip, skip, skip, skip, skip, skip
    trained = train.TrainedHead.of(result, prepared)
    code, bundle = _code_zip(clips, prepared, config)
    with_grad = train.parameters_with_grad(backbone)  # empty: requires_grad=False keeps .grad None
    summary = {**result.summary(prepared), "backbone_parameters_with_grad": with_grad}
    yield (
        curve, _params_md(prepared, language), _status(result, with_grad, language), summary,
        image_file(train.confusion_image(result.confusion, result.labels), "confusion.png"),
        output_file("head.pt", trained.to_bytes()), bundle, code, trained,
    )  # fmt: skip


# --- classification ------------------------------------------------------------------------------


def _head_from(head_file, trained: train.TrainedHead | None) -> train.TrainedHead:
    path = input_path(head_file)
    if path:
        if os.path.getsize(path) > limits.TRAIN_MAX_HEAD_BYTES:
            raise AudioLabError(f"The head file is {os.path.getsize(path) / 2**20:.1f} MB; a trained head is at "
                                f"most {limits.TRAIN_MAX_HEAD_BYTES / 2**20:.0f} MB.",
                                zh=(
                                    f"分类头文件大小为 {os.path.getsize(path) / 2**20:.1f} MB；训练得到的分类头最多 "
                                    f"{limits.TRAIN_MAX_HEAD_BYTES / 2**20:.0f} MB。"
                                ))  # fmt: skip
        return train.TrainedHead.from_bytes(Path(path).read_bytes())
    if trained is None:
        raise AudioLabError(
            "Train a head first (step 2), or upload a head file (.pt) saved earlier.",
            zh="请先训练一个分类头（第 2 步），或上传之前保存的分类头文件（.pt）。",
        )
    return trained


def _head_note(head_file) -> Note:
    """Which head classified: the uploaded file (it wins) or the one trained in this session."""
    path = input_path(head_file)
    if path:
        return Note(f"Head: the uploaded file {Path(path).name}.", zh=f"分类头：上传的文件 {Path(path).name}。")
    return Note("Head: the one trained in this session.", zh="分类头：本次会话中训练的分类头。")


@user_errors
def classify(audio, head_file, trained):
    """Class probabilities of a clip under a trained head (a head .pt saved by train_head; in the browser,
    the session's last trained head when none is given).

    Args:
        audio: the clip to classify (URL or file; the first 5 s are used, as in training).
        head_file: the trained head .pt from train_head (URL or file, at most 2 MB).

    Returns:
        the probability of each label (0-1) and notes.
    """
    head = _head_from(head_file, trained)
    decoded = _decode(require_audio(audio))
    probs = train.classify(head, decoded.waveform, decoded.sample_rate)
    seconds, rate, channels = decoded.info.duration_s, decoded.sample_rate, decoded.waveform.shape[0]
    kind, labels = head.backbone["kind"], ", ".join(head.labels)
    notes = [*decoded.notes, Note(f"Clip: {seconds:.2f} s at {rate} Hz, {channels} channel(s).",
                                  zh=f"片段：{seconds:.2f} 秒，{rate} Hz，{channels} 个声道。"),
             Note(f"Backbone: {kind}; labels: {labels}.", zh=f"骨干网络：{kind}；标签：{labels}。")]  # fmt: skip
    if decoded.info.duration_s > limits.TRAIN_MAX_CLIP_S:
        notes.append(Note(f"Only the first {limits.TRAIN_MAX_CLIP_S:g} s were classified (as in training).",
                          zh=f"只对前 {limits.TRAIN_MAX_CLIP_S:g} 秒进行了分类（与训练时相同）。"))  # fmt: skip
    notes.insert(0, _head_note(head_file))
    return probs, notes_markdown(notes)


@user_errors
def builtin_clip(label, seed, index):
    """A new synthesized clip of a built-in label, e.g. to try classify.

    Args:
        label: "low tone", "high tone" or "noise".
        seed: random seed of the synthesis, 0 to 2**31 - 1.
        index: clip number, 0 to 1000000 (0-15 are in the built-in training set of the same seed).

    Returns:
        a 16 kHz mono WAV file.
    """
    index = int(limits.check_number("clip number", index, 0, 1_000_000, integer=True))
    waveform = train.builtin_clip(label, seed=seed, index=index)
    return output_file(f"{str(label).replace(' ', '_')}_{index}.wav", aio.encode(waveform, 16_000, "wav"))


# --- layout -------------------------------------------------------------------------------------


def _data_column() -> dict:
    builtin = gr.Button(t("train_builtin"), elem_id="train-builtin")
    with gr.Accordion(t("train_own"), open=False, elem_id="train-own"):
        label = gr.Textbox(label=t("train_new_label"), max_length=limits.TRAIN_LABEL_MAX_CHARS, elem_id="train-label")
        recording = gr.Audio(sources=["microphone", "upload"], type="filepath", label=t("train_record"),
                             elem_id="train-record")  # fmt: skip
        uploads = gr.File(file_count="multiple", file_types=["audio"], label=t("train_upload_many"),
                          elem_id="train-uploads")  # fmt: skip
        with gr.Row():
            add = gr.Button(t("train_add"), variant="secondary", elem_id="train-add")
            clear = gr.Button(t("train_clear"), elem_id="train-clear")
    clips = gr.File(file_count="multiple", label=t("train_clips"), interactive=False, height=160, elem_id="train-clips")
    labels = gr.Textbox("[]", label=t("train_labels"), lines=2, max_lines=6, elem_id="train-labels")
    summary = gr.Dataframe(headers=SUMMARY_HEADERS, label=t("train_summary"), interactive=False,
                           elem_id="train-summary")  # fmt: skip
    per_language([summary], lambda lang: empty_table(SUMMARY_KEYS, lang))
    return locals()


def _model_column() -> dict:
    backbone = gr.Radio(BACKBONE_CHOICES, value="mfcc", label=t("train_backbone"), elem_id="train-backbone")
    per_language([backbone], lambda lang: choices_in(lang, BACKBONE_CHOICES, "train_backbone_"))
    n_mfcc = gr.Slider(*limits.TRAIN_N_MFCC_RANGE, value=train.DEFAULT_N_MFCC, step=1, label=t("train_n_mfcc"),
                       elem_id="train-n-mfcc")  # fmt: skip
    with gr.Group(visible=False) as w2v_group:
        model = gr.Dropdown(model_options(),
                            value=limits.TRAIN_W2V_DEFAULT_MODEL, label=t("train_w2v_model"), allow_custom_value=True,
                            elem_id="train-model")  # fmt: skip
        layer = gr.Slider(1, limits.W2V_MAX_LAYERS, value=limits.TRAIN_W2V_DEFAULT_LAYER, step=1,
                          label=t("train_w2v_layer"), elem_id="train-layer")  # fmt: skip
    defaults = train.TrainConfig()
    with gr.Row():
        epochs = gr.Slider(*limits.TRAIN_EPOCHS_RANGE, value=defaults.epochs, step=1, label=t("train_epochs"),
                           elem_id="train-epochs")  # fmt: skip
        batch_size = gr.Slider(*limits.TRAIN_BATCH_RANGE, value=defaults.batch_size, step=1, label=t("train_batch"))
    with gr.Row():
        lr = gr.Number(defaults.lr, label=t("train_lr"), elem_id="train-lr")  # fmt: skip
        momentum = gr.Slider(*limits.TRAIN_MOMENTUM_RANGE, value=defaults.momentum, step=0.01,
                             label=t("train_momentum"))  # fmt: skip
    with gr.Row():
        test_fraction = gr.Slider(*limits.TRAIN_TEST_FRACTION_RANGE, value=defaults.test_fraction, step=0.05,
                                  label=t("train_test_fraction"))  # fmt: skip
        seed = gr.Number(defaults.seed, label=t("train_seed"), precision=0, minimum=0,
                         maximum=limits.TRAIN_SEED_RANGE[1])  # fmt: skip
    run = gr.Button(t("train_run"), variant="primary", elem_id="train-run")
    backbone.change(lambda b: (gr.Group(visible=b == "wav2vec2"), gr.Slider(visible=b == "mfcc")), backbone,
                    [w2v_group, n_mfcc], api_name=False)  # fmt: skip
    model.change(layer_slider, [model, layer], layer, api_name=False)
    per_language([model], lambda lang: gr.update(choices=model_options(lang)))
    return locals()


def _results_column() -> dict:
    params = gr.Markdown(label=t("train_params"), elem_id="train-params")
    status = gr.Markdown(label=t("train_status"), elem_id="train-status")
    curve = described_figure(t("train_curve"), "train-curve")
    confusion = described_figure(t("train_confusion"), "train-confusion")
    with gr.Row():
        head_file = gr.File(label=t("train_head_file"), elem_id="train-head-file")
        code_file = gr.File(label=t("train_code_file"), elem_id="train-code-file")
    with gr.Accordion(t("train_results"), open=False):
        results = gr.JSON(elem_id="train-results")
    with gr.Accordion(t("code_panel"), open=False):
        code = gr.Code(language="python", elem_id="train-code")
        notebook_button(code, "train", "train-notebook")
    return locals()


def _try_row() -> dict:
    with gr.Row():
        with gr.Column(scale=2):
            try_audio = audio_input(
                t("train_try_audio"), "train-try-audio", t("train_examples"), examples_id="train-examples"
            )
            with gr.Row():
                make_label = gr.Dropdown(list(train.BUILTIN_LABELS), value=train.BUILTIN_LABELS[0],
                                         label=t("train_make_label"), elem_id="train-make-label")  # fmt: skip
                make_index = gr.Number(100, label=t("train_make_index"), precision=0, minimum=0)
            make = gr.Button(t("train_make"), elem_id="train-make")
        with gr.Column(scale=2):
            head_upload = gr.File(label=t("train_head_upload"), file_types=[".pt"], elem_id="train-head-upload")
            classify_btn = gr.Button(t("train_classify"), variant="primary", elem_id="train-classify")
            probs = gr.Label(label=t("train_probs"), elem_id="train-probs")
            notes = notes_area("train-notes")
    return locals()


def build(shared: dict) -> None:
    """Lay out the Train tab inside the current ``gr.Tab``."""
    gr.Markdown(t("train_intro"))
    with gr.Row():
        with gr.Column(scale=2):
            gr.Markdown(t("train_step_data"))
            data = _data_column()
        with gr.Column(scale=3, min_width=360):  # two sliders side by side need the room
            gr.Markdown(t("train_step_model"))
            model = _model_column()
        with gr.Column(scale=3):
            results = _results_column()
    gr.Markdown(t("train_step_try"))
    tryit = _try_row()
    _wire(data, model, results, tryit, shared)


def _wire(d: dict, m: dict, r: dict, c: dict, shared: dict) -> None:
    """Events: every one that matters has an ``api_name``."""
    trained = gr.State(None)  # this session's head: never shared between users
    set_out = [d["clips"], d["labels"], d["summary"]]
    d["builtin"].click(builtin_set, m["seed"], set_out, api_name="builtin_set")
    d["add"].click(add_clips, [d["clips"], d["labels"], d["label"], d["recording"], d["uploads"]],
                   [*set_out, d["recording"], d["uploads"]], api_name=False)  # fmt: skip
    d["clear"].click(lambda: ([], "[]", []), None, set_out, api_name=False)
    d["labels"].change(_summary, d["labels"], d["summary"], api_name=False)
    inputs = [d["clips"], d["labels"], m["backbone"], m["model"], m["layer"], m["n_mfcc"], m["epochs"], m["lr"],
              m["momentum"], m["batch_size"], m["test_fraction"], m["seed"]]  # fmt: skip
    outputs = [r["curve"], r["params"], r["status"], r["results"], r["confusion"], r["head_file"], r["code_file"],
               r["code"], trained]  # fmt: skip
    keep_notes(m["run"].click(train_head, inputs, outputs, api_name="train_head"), r["status"], train_head)
    event = c["classify_btn"].click(classify, [c["try_audio"], c["head_upload"], trained], [c["probs"], c["notes"]],
                                    api_name="classify")  # fmt: skip
    keep_notes(event, c["notes"], classify)
    c["make"].click(builtin_clip, [c["make_label"], m["seed"], c["make_index"]], c["try_audio"],
                    api_name="builtin_clip")  # fmt: skip
    follow_audio(shared, c["try_audio"])
