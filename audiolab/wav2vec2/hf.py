"""Hugging Face wav2vec2 checkpoints -> ``torchaudio.models.wav2vec2_model``, without transformers.

``torchaudio.models.wav2vec2.utils.import_huggingface_model`` needs a live ``transformers``
model object; this module does the same conversion from the files themselves
(``config.json``, ``vocab.json``, ``model.safetensors``/``pytorch_model.bin``, and the feature
extractor's settings from ``processor_config.json`` or ``preprocessor_config.json``), with the
parameter and key mapping taken from that function.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torchaudio
from safetensors.torch import load_file

from audiolab.core import limits
from audiolab.core.errors import AudioLabError

HF_PREFIXES = ("wav2vec2.", "hubert.")
HF_RENAMES = (  # HF key (prefix removed) -> torchaudio key
    ("feature_extractor.", "feature_extractor."),
    ("feature_projection.", "encoder.feature_projection."),
    ("encoder.", "encoder.transformer."),
    ("lm_head.", "aux."),
)
HF_WEIGHT_NORM = (
    (".weight_g", ".parametrizations.weight.original0"),
    (".weight_v", ".parametrizations.weight.original1"),
)
HF_DROPPED = ("masked_spec_embed", "quantizer.", "project_q.", "project_hid.")  # used in pre-training only
SUPPORTED_TYPES = ("wav2vec2", "hubert")
HF_EPS = 1e-7  # Wav2Vec2FeatureExtractor: (x - mean) / sqrt(var + 1e-7)
JSON_MAX_BYTES = 8 * 1024**2


def read_json(path: str | Path) -> dict:
    """A small JSON file as a dict (clear error when missing, too big or malformed)."""
    path = Path(path)
    if not path.is_file():
        raise AudioLabError(f"{path} is missing.", zh=f"缺少 {path}。")
    if path.stat().st_size > JSON_MAX_BYTES:
        raise AudioLabError(
            f"{path} is {path.stat().st_size / 2**20:.1f} MB, too big for a model config.",
            zh=f"{path} 大小为 {path.stat().st_size / 2**20:.1f} MB，作为模型配置太大。",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AudioLabError(f"{path} is not valid JSON: {err}", zh=f"{path} 不是有效的 JSON：{err}") from None
    if not isinstance(data, dict):
        raise AudioLabError(f"{path} should hold a JSON object.", zh=f"{path} 应该包含一个 JSON 对象。")
    return data


def hf_params(config: dict, num_outputs: int | None) -> dict:
    """``wav2vec2_model`` keyword arguments for an HF ``config.json`` (dropouts off: inference)."""
    kind = config.get("model_type", "wav2vec2")
    if kind not in SUPPORTED_TYPES:
        raise AudioLabError(
            f"model_type {kind!r} is not supported; supported: {', '.join(SUPPORTED_TYPES)}.",
            zh=f"不支持 model_type {kind!r}；支持：{', '.join(SUPPORTED_TYPES)}。",
        )
    for key in ("add_adapter", "adapter_attn_dim", "use_weighted_layer_sum"):
        if config.get(key):
            raise AudioLabError(
                f"Checkpoints with {key}={config[key]!r} are not supported.",
                zh=f"不支持 {key}={config[key]!r} 的检查点。",
            )
    for key in ("feat_extract_activation", "hidden_act"):
        if config.get(key, "gelu") != "gelu":
            raise AudioLabError(
                f"{key}={config[key]!r} is not supported (only gelu).",
                zh=f"不支持 {key}={config[key]!r}（只支持 gelu）。",
            )
    if kind == "hubert" and config.get("feat_proj_layer_norm", True) is False:
        raise AudioLabError(
            "HuBERT checkpoints without feat_proj_layer_norm are not supported.",
            zh="不支持没有 feat_proj_layer_norm 的 HuBERT 检查点。",
        )
    norm = config.get("feat_extract_norm", "group")
    if norm not in ("group", "layer"):
        raise AudioLabError(
            f"feat_extract_norm={norm!r} is not supported (group or layer).",
            zh=f"不支持 feat_extract_norm={norm!r}（只支持 group 或 layer）。",
        )
    convs = list(zip(config.get("conv_dim", (512,) * 7), config.get("conv_kernel", (10, 3, 3, 3, 3, 2, 2)),
                     config.get("conv_stride", (5, 2, 2, 2, 2, 2, 2)), strict=True))  # fmt: skip
    return {
        "extractor_mode": f"{norm}_norm",
        "extractor_conv_layer_config": [tuple(int(v) for v in c) for c in convs],
        "extractor_conv_bias": bool(config.get("conv_bias", False)),
        "encoder_embed_dim": int(config.get("hidden_size", 768)),
        "encoder_projection_dropout": 0.0,
        "encoder_pos_conv_kernel": int(config.get("num_conv_pos_embeddings", 128)),
        "encoder_pos_conv_groups": int(config.get("num_conv_pos_embedding_groups", 16)),
        "encoder_num_layers": int(config.get("num_hidden_layers", 12)),
        "encoder_num_heads": int(config.get("num_attention_heads", 12)),
        "encoder_attention_dropout": 0.0,
        "encoder_ff_interm_features": int(config.get("intermediate_size", 3072)),
        "encoder_ff_interm_dropout": 0.0,
        "encoder_dropout": 0.0,
        "encoder_layer_norm_first": bool(config.get("do_stable_layer_norm", False)),
        "encoder_layer_drop": 0.0,
        "aux_num_out": num_outputs,
    }


def rename_key(key: str) -> str | None:
    """The torchaudio name of an HF state-dict key; ``None`` for pre-training-only weights."""
    body = next((key[len(p) :] for p in HF_PREFIXES if key.startswith(p)), key)
    if body.startswith(HF_DROPPED):
        return None
    for old, new in HF_RENAMES:
        if body.startswith(old):
            body = new + body[len(old) :]
            break
    else:
        raise AudioLabError(
            f"Unexpected weight {key!r}: this is not a wav2vec2/HuBERT CTC checkpoint.",
            zh=f"意外的权重 {key!r}：这不是 wav2vec2/HuBERT CTC 检查点。",
        )
    for old, new in HF_WEIGHT_NORM:  # older checkpoints keep weight_norm's g and v
        body = body.replace(old, new)
    return body


def convert_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an HF wav2vec2/HuBERT (``...ForCTC``) state dict to torchaudio's ``Wav2Vec2Model``."""
    out = {}
    for key, value in state.items():
        new = rename_key(key)
        if new is not None:
            out[new] = value
    return out


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` file, or a ``.bin`` loaded with ``weights_only=True`` (no code runs)."""
    path = Path(path)
    size = path.stat().st_size
    if size > limits.W2V_MAX_WEIGHT_BYTES:
        raise AudioLabError(
            f"{path.name} is {size / 2**30:.2f} GB; the limit is {limits.W2V_MAX_WEIGHT_BYTES / 2**30:.0f} GB.",
            zh=f"{path.name} 大小为 {size / 2**30:.2f} GB；上限为 {limits.W2V_MAX_WEIGHT_BYTES / 2**30:.0f} GB。",
        )
    try:
        if path.suffix == ".safetensors":
            return load_file(str(path), device="cpu")
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - corrupt files raise many types
        raise AudioLabError(
            f"Could not read the weights {path}: {type(err).__name__}: {err}",
            zh=f"无法读取权重 {path}：{type(err).__name__}：{err}",
        ) from None


def labels_from_vocab(vocab: dict, size: int) -> tuple[str, ...]:
    """Labels by token id from ``vocab.json`` (``{token: id}``); ids it lacks become ``<id>``."""
    if any(isinstance(v, dict) for v in vocab.values()):
        raise AudioLabError(
            "Multi-language vocab.json files (one vocabulary per language) are not supported.",
            zh="不支持多语言 vocab.json 文件（每种语言一个词表）。",
        )
    labels = [f"<{i}>" for i in range(size)]
    for token, index in vocab.items():
        if isinstance(index, int) and 0 <= index < size:
            labels[index] = token
    return tuple(labels)


def build_model(files: dict[str, Path]) -> tuple[torch.nn.Module, dict]:
    """Build the torchaudio model from HF files; returns ``(model, meta)``.

    ``files`` maps ``"config.json"``, ``"weights"`` and optionally ``"vocab.json"``,
    ``"processor_config.json"``, ``"preprocessor_config.json"``, ``"tokenizer_config.json"`` to paths. ``meta`` holds
    ``params``, ``labels`` (or ``None``), ``blank``, ``delimiter``, ``sample_rate``, ``normalize_eps``.
    """
    config = read_json(files["config.json"])
    state = convert_state_dict(load_weights(files["weights"]))
    outputs = state["aux.weight"].shape[0] if "aux.weight" in state else None
    params = hf_params(config, outputs)
    model = torchaudio.models.wav2vec2_model(**params)
    expected = set(model.state_dict())
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise AudioLabError(
            f"The weights do not match config.json: missing {missing[:3]}, unexpected {unexpected[:3]}.",
            zh=f"权重与 config.json 不匹配：缺少 {missing[:3]}，多出 {unexpected[:3]}。",
        )
    model.load_state_dict(state)
    return model.eval(), _meta(config, files, params, outputs)


def feature_extractor_settings(files: dict[str, Path]) -> dict:
    """The feature extractor's settings (``sampling_rate``, ``do_normalize``, ...); ``{}`` when absent.

    transformers 5 saves them as the ``"feature_extractor"`` section of ``processor_config.json``
    and writes no ``preprocessor_config.json``; older versions wrote only the latter. When a
    folder has both, the newer layout wins (a re-saved checkpoint may keep a stale old file).
    """
    if files.get("processor_config.json"):
        section = read_json(files["processor_config.json"]).get("feature_extractor")
        if isinstance(section, dict):
            return section
    return read_json(files["preprocessor_config.json"]) if files.get("preprocessor_config.json") else {}


def _meta(config: dict, files: dict[str, Path], params: dict, outputs: int | None) -> dict:
    pre = feature_extractor_settings(files)
    tok = read_json(files["tokenizer_config.json"]) if files.get("tokenizer_config.json") else {}
    labels = None
    if outputs is not None:
        if not files.get("vocab.json"):
            raise AudioLabError(
                "This CTC checkpoint has no vocab.json: its output tokens are unknown.",
                zh="此 CTC 检查点没有 vocab.json：其输出词元未知。",
            )
        labels = labels_from_vocab(read_json(files["vocab.json"]), outputs)
    blank = config.get("pad_token_id")
    if not isinstance(blank, int) or not 0 <= blank < (outputs or 1):
        blank = labels.index("<pad>") if labels and "<pad>" in labels else 0
    delimiter = tok.get("word_delimiter_token", "|")
    return {
        "params": params,
        "labels": labels,
        "blank": blank,
        "delimiter": delimiter if labels and delimiter in labels else None,
        "sample_rate": int(pre.get("sampling_rate", 16_000)),
        "normalize_eps": HF_EPS if pre.get("do_normalize", True) else None,
    }
