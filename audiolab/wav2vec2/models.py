"""wav2vec2 model sources: torchaudio bundles, Hugging Face Hub checkpoints, local folders.

Model names:

- ``"WAV2VEC2_ASR_BASE_960H"`` and the other names in :data:`limits.W2V_ASR_BUNDLES` /
  :data:`limits.W2V_FEATURE_BUNDLES`: ``torchaudio.pipelines`` bundles. Weights come from the
  torch hub cache (``torch.hub.get_dir()/checkpoints``), downloaded there on first use.
- ``"hf:owner/name"``: a Hugging Face Hub wav2vec2 checkpoint (``config.json``, ``vocab.json``,
  ``model.safetensors`` or ``pytorch_model.bin``) converted into
  ``torchaudio.models.wav2vec2_model`` (no ``transformers`` needed). The curated ids are in
  :data:`limits.W2V_HUB_MODELS`; more can be listed in ``AUDIOLAB_HF_MODELS`` (comma-separated).
- ``"local:folder"``: a folder in that same layout inside ``AUDIOLAB_MODEL_DIR`` (one folder, or
  several separated by ``os.pathsep``; a folder that itself holds ``config.json`` counts too).

Set ``AUDIOLAB_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1`` for the Hub) to never try a download.
Every loaded model goes through the shared :mod:`audiolab.core.cache` (built once, on its device).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import socket
import threading
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchaudio

from audiolab.core import cache, limits
from audiolab.core.errors import AudioLabError, ModelUnavailableError
from audiolab.wav2vec2 import hf as w2v_hf

log = logging.getLogger(__name__)

ENV_MODEL_DIR = "AUDIOLAB_MODEL_DIR"
ENV_HF_MODELS = "AUDIOLAB_HF_MODELS"
ENV_OFFLINE = "AUDIOLAB_OFFLINE"
HF_PREFIX, LOCAL_PREFIX = "hf:", "local:"
BUNDLE_URL = "https://download.pytorch.org/torchaudio/models/"
HF_HOST = "huggingface.co"
BUNDLE_EPS = 1e-5  # torchaudio bundles: layer_norm over the whole waveform
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class W2VModel(torch.nn.Module):
    """A wav2vec2-family model (``torchaudio.models.Wav2Vec2Model``) plus what inference needs.

    ``labels`` is ``None`` for pre-trained models without a CTC head. ``normalize_eps`` is set
    when the model expects zero-mean, unit-variance input (applied to the whole waveform).
    """

    def __init__(self, model: torch.nn.Module, *, name: str, labels: tuple[str, ...] | None, blank: int = 0,
                 delimiter: str | None = "|", sample_rate: int = 16_000, normalize_eps: float | None = None,
                 source: dict | None = None, params: dict | None = None) -> None:  # fmt: skip
        super().__init__()
        self.model = model
        self.name, self.labels, self.blank, self.delimiter = name, labels, blank, delimiter
        self.sample_rate, self.normalize_eps = int(sample_rate), normalize_eps
        self.source, self.params = source or {}, params or {}

    @property
    def has_ctc(self) -> bool:
        """Whether the model outputs token logits (has a CTC head)."""
        return self.labels is not None

    @property
    def num_layers(self) -> int:
        """Transformer layers (what ``extract_features`` returns one tensor for)."""
        return len(self.model.encoder.transformer.layers)

    @property
    def device(self) -> torch.device:
        """Where the weights are."""
        return next(self.model.parameters()).device

    def positional_reach(self) -> int:
        """Frames the convolutional positional embedding looks at on each side."""
        return self.model.encoder.transformer.pos_conv_embed.kernel_size // 2

    def geometry(self) -> list[tuple[int, int]]:
        """``(kernel, stride)`` of each convolution of the feature extractor (in samples)."""
        return [(layer.kernel_size, layer.stride) for layer in self.model.feature_extractor.conv_layers]


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model menu."""

    name: str
    label: str
    source: str  # "torchaudio" | "hf" | "local"
    ctc: bool | None  # None: known once loaded


# --- the model menu ---------------------------------------------------------------------------


def local_model_dirs() -> dict[str, Path]:
    """``{"local:<folder>": path}`` for HF-layout folders found in ``AUDIOLAB_MODEL_DIR``."""
    found: dict[str, Path] = {}
    for root in filter(None, os.environ.get(ENV_MODEL_DIR, "").split(os.pathsep)):
        base = Path(root).expanduser()
        candidates = [base] if (base / "config.json").is_file() else sorted(base.glob("*/config.json"))
        for path in candidates:
            folder = path if path.is_dir() else path.parent
            found.setdefault(LOCAL_PREFIX + folder.name, folder)
            if len(found) >= limits.W2V_MAX_LOCAL_MODELS:
                return found
    return found


def hub_models() -> list[str]:
    """Hub repo ids offered: the curated ones plus ``AUDIOLAB_HF_MODELS``."""
    extra = [r.strip() for r in os.environ.get(ENV_HF_MODELS, "").split(",") if _REPO_ID.match(r.strip())]
    return list(dict.fromkeys([*limits.W2V_HUB_MODELS, *extra]))


def cached(name: str) -> bool | None:
    """Whether model ``name`` loads without the network: a torchaudio bundle whose weights are in the
    torch hub cache, or a local folder; ``None`` for Hugging Face models (not known until loaded)."""
    if name.startswith(LOCAL_PREFIX):
        return True
    if name.startswith(HF_PREFIX):
        return None
    return bundle_checkpoint(getattr(torchaudio.pipelines, name)).is_file()


def model_choices() -> list[ModelChoice]:
    """Every model the app can try to load, default first."""
    choices = [ModelChoice(n, f"{n} (torchaudio, CTC)", "torchaudio", True) for n in limits.W2V_ASR_BUNDLES]
    choices += [
        ModelChoice(n, f"{n} (torchaudio, features only)", "torchaudio", False) for n in limits.W2V_FEATURE_BUNDLES
    ]
    choices += [ModelChoice(HF_PREFIX + r, f"{r} (Hugging Face Hub)", "hf", None) for r in hub_models()]
    choices += [ModelChoice(n, f"{n[len(LOCAL_PREFIX) :]} (local folder)", "local", None) for n in local_model_dirs()]
    return choices


def _missing_local(name: str, language: str = "en") -> str:
    """Where a ``local:`` model is looked for, for a name that is not there."""
    folder = os.environ.get(ENV_MODEL_DIR)
    wanted = name[len(LOCAL_PREFIX) :]
    if language == "zh":
        where = f"{ENV_MODEL_DIR} 指向的文件夹 {folder}" if folder else f"环境变量 {ENV_MODEL_DIR} 未设置"
        return (f"找不到本地模型 {name!r}：{where}。local:<名称> 是 {ENV_MODEL_DIR} 中名为 {wanted!r} 的子文件夹"
                "（含 config.json、vocab.json 和权重）；放好后点击“刷新模型列表”。")  # fmt: skip
    where = f"the folder {ENV_MODEL_DIR}={folder}" if folder else f"{ENV_MODEL_DIR} is not set"
    return (f"No local model {name!r}: {where}. local:<name> is the subfolder {wanted!r} of {ENV_MODEL_DIR} "
            "(config.json, vocab.json and the weights); add it, then press 'Refresh model list'.")  # fmt: skip


def check_model_name(name: object) -> str:
    """Return ``name`` if the app offers it, else raise listing a few valid ones."""
    names = [c.name for c in model_choices()]
    if name not in names:
        if isinstance(name, str) and re.fullmatch(LOCAL_PREFIX + r"\w[\w.-]*", name) and ".." not in name:
            raise AudioLabError(_missing_local(name), zh=_missing_local(name, "zh"))
        shown = ", ".join(names[:6] + [n for n in names if n.startswith(LOCAL_PREFIX)])
        raise AudioLabError(
            f"Unknown model {name!r}. Please choose one of: {shown} (and the other listed models).",
            zh=f"未知模型 {name!r}。请从以下选择：{shown}（以及列表中的其他模型）。",
        )
    return str(name)


def describe(name: str) -> dict:
    """Cheap facts about a model without loading weights: ``{"layers": int|None, "ctc": bool|None}``."""
    name = check_model_name(name)
    if not name.startswith((HF_PREFIX, LOCAL_PREFIX)):
        bundle = getattr(torchaudio.pipelines, name)
        return {"layers": bundle._params["encoder_num_layers"], "ctc": hasattr(bundle, "get_labels")}
    config = None
    if name.startswith(LOCAL_PREFIX):
        config = local_model_dirs()[name] / "config.json"
    else:
        try:
            config = Path(_hf_download(name[len(HF_PREFIX) :], "config.json", local_only=True))
        except Exception:  # noqa: BLE001 - not in the cache: unknown until loaded
            return {"layers": None, "ctc": None}
    cfg = w2v_hf.read_json(config)
    return {"layers": cfg.get("num_hidden_layers", 12), "ctc": "ForCTC" in " ".join(cfg.get("architectures", []))}


# --- loading through the cache ----------------------------------------------------------------


def load_model(name: str, device: str | None = None) -> W2VModel:
    """The model called ``name`` from the shared cache (loaded once, on ``device``)."""
    name = check_model_name(name)
    if name.startswith(LOCAL_PREFIX):
        folder = local_model_dirs()[name]
        stamp = max((p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()), default=0)
        return cache.model(name, (str(folder), stamp), lambda: load_local(name, folder), device)
    if name.startswith(HF_PREFIX):
        return cache.model(name, (), lambda: load_hub(name[len(HF_PREFIX) :]), device)
    return cache.model(name, (), lambda: load_bundle(name), device)


def require_ctc(model: W2VModel) -> W2VModel:
    """Raise a clear error if ``model`` has no CTC head (pre-trained only)."""
    if not model.has_ctc:
        raise AudioLabError(
            f"{model.name} is pre-trained only (no CTC head): it gives layer features but no "
            f"emissions or transcript. Pick an ASR model such as {limits.W2V_DEFAULT_MODEL}.",
            zh=(
                f"{model.name} 只是预训练模型（没有 CTC 头）：它给出各层特征，但没有发射概率或转写。请选择 ASR 模型，"
                f"例如 {limits.W2V_DEFAULT_MODEL}。"
            ),
        )
    return model


def offline_reason(host: str) -> str | None:
    """Why a download from ``host`` cannot work now, or ``None`` if it may (probed, cached 60 s)."""
    if os.environ.get(ENV_OFFLINE, "").strip() not in ("", "0"):
        return f"{ENV_OFFLINE} is set"
    if host == HF_HOST:
        from huggingface_hub import constants

        if constants.is_offline_mode() or os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0"):
            return "HF_HUB_OFFLINE is set"
    with _PROBE_LOCK:
        seen = _PROBES.get(host)
        if seen and time.monotonic() - seen[0] < 60:
            return seen[1]
    try:
        socket.create_connection((host, 443), timeout=limits.W2V_NET_TIMEOUT_S).close()
        reason = None
    except OSError as err:
        reason = f"cannot reach {host} ({err})"
    with _PROBE_LOCK:
        _PROBES[host] = (time.monotonic(), reason)
    return reason


_PROBE_LOCK = threading.Lock()
_PROBES: dict[str, tuple[float, str | None]] = {}


# --- torchaudio bundles -----------------------------------------------------------------------


def bundle_url(bundle) -> str:
    """Where torchaudio downloads a bundle's weights from."""
    return bundle._path if bundle._path.startswith("https") else BUNDLE_URL + bundle._path


def bundle_checkpoint(bundle) -> Path:
    """The file ``torch.hub.load_state_dict_from_url`` reads (and downloads to)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(bundle_url(bundle)).path)


def _bundle_missing(name: str, bundle, why: str) -> ModelUnavailableError:
    file = bundle_checkpoint(bundle)
    return ModelUnavailableError(
        f"Model {name} is not available: its weights {file.name} are not in the torch hub cache "
        f"{file.parent} and could not be downloaded from {bundle_url(bundle)} ({why}). To provide it, "
        f"run the app once with internet access, or download that file and put it in {file.parent} "
        f"(set TORCH_HOME to use another folder). The other tabs and models keep working.",
        zh=(
            f"模型 {name} 不可用：其权重 {file.name} 不在 torch hub 缓存 {file.parent} 中，也无法从 "
            f"{bundle_url(bundle)} 下载（{why}）。要提供它，请在联网状态下运行一次本应用，或下载该文件并放到 "
            f"{file.parent}（设置 TORCH_HOME 可使用其他文件夹）。其他页面和模型仍可正常使用。"
        ),
    )


def load_bundle(name: str) -> W2VModel:
    """Build a ``torchaudio.pipelines`` bundle's model from the torch hub cache (downloading if online)."""
    bundle = getattr(torchaudio.pipelines, name)
    if not bundle_checkpoint(bundle).is_file():
        reason = offline_reason(urlparse(bundle_url(bundle)).hostname or "download.pytorch.org")
        if reason:
            raise _bundle_missing(name, bundle, reason)
    try:
        model = bundle.get_model(dl_kwargs={"weights_only": True, "progress": False})
    except (urllib.error.URLError, OSError) as err:
        raise _bundle_missing(name, bundle, f"download failed: {err}") from None
    except (RuntimeError, pickle.UnpicklingError, EOFError, KeyError, ValueError) as err:
        raise ModelUnavailableError(
            f"The weights file {bundle_checkpoint(bundle)} does not fit {name} ({type(err).__name__}); "
            "delete it and try again so that it is downloaded afresh.",
            zh=(
                f"权重文件 {bundle_checkpoint(bundle)} 与 {name} 不匹配（{type(err).__name__}）；请删除它再试一次，以"
                "便重新下载。"
            ),
        ) from None
    inner = getattr(model, "model", model)  # bundles that normalise the input wrap the model
    eps = BUNDLE_EPS if bundle._normalize_waveform else None
    labels = tuple(bundle.get_labels(blank="-")) if hasattr(bundle, "get_labels") else None
    source = {"kind": "bundle", "bundle": name}
    return W2VModel(inner, name=name, labels=labels, blank=0, delimiter="|", sample_rate=int(bundle.sample_rate),
                    normalize_eps=eps, source=source, params=dict(bundle._params))  # fmt: skip


# --- Hugging Face Hub and local folders ------------------------------------------------------

HF_OPTIONAL = ("vocab.json", "processor_config.json", "preprocessor_config.json", "tokenizer_config.json")


def hf_cache_dir() -> str:
    """The Hugging Face hub cache folder (``HF_HUB_CACHE``, read at call time)."""
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _hf_download(repo: str, filename: str, *, local_only: bool) -> str:
    from huggingface_hub import hf_hub_download

    return hf_hub_download(repo, filename, cache_dir=hf_cache_dir(), local_files_only=local_only,
                           etag_timeout=limits.W2V_NET_TIMEOUT_S)  # fmt: skip


def _hf_try(repo: str, filename: str, *, local_only: bool) -> Path | None:
    """A file of ``repo`` (cache first); ``None`` if the repo does not have it."""
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    try:
        return Path(_hf_download(repo, filename, local_only=local_only))
    except LocalEntryNotFoundError:
        if local_only:
            return None
        raise
    except EntryNotFoundError:  # the repo exists but lacks this file
        return None


def _hub_missing(repo: str, why: str) -> ModelUnavailableError:
    weights = " or ".join(limits.W2V_HUB_FILES_WEIGHTS)
    return ModelUnavailableError(
        f"Model hf:{repo} is not available: config.json, vocab.json and {weights} were not found in the "
        f"Hugging Face cache {hf_cache_dir()} and could not be downloaded ({why}). To provide it, run the "
        f"app once with internet access, or copy those files into a folder inside {ENV_MODEL_DIR} and "
        f"pick it as local:<folder>. The other tabs and models keep working.",
        zh=(
            f"模型 hf:{repo} 不可用：在 Hugging Face 缓存 {hf_cache_dir()} 中找不到 config.json、vocab.json 和 "
            f"{weights}，也无法下载（{why}）。要提供它，请在联网状态下运行一次本应用，或把这些文件复制到 "
            f"{ENV_MODEL_DIR} 中的一个文件夹，并以 local:<文件夹> 选择它。其他页面和模型仍可正常使用。"
        ),
    )


def _hub_files(repo: str, *, local_only: bool) -> dict[str, Path] | None:
    """Paths of the checkpoint's files, or ``None`` when a required one is not available."""
    config = _hf_try(repo, "config.json", local_only=local_only)
    weights = None
    for filename in limits.W2V_HUB_FILES_WEIGHTS:
        weights = weights or _hf_try(repo, filename, local_only=local_only)
    if config is None or weights is None:
        return None
    files = {"config.json": config, "weights": weights}
    for name in HF_OPTIONAL:
        files[name] = _hf_try(repo, name, local_only=local_only)
    return files


def load_hub(repo: str) -> W2VModel:
    """Load ``repo`` from the Hugging Face cache, downloading it first when online."""
    files = _hub_files(repo, local_only=True)
    if files is None:
        reason = offline_reason(HF_HOST)
        if reason:
            raise _hub_missing(repo, reason)
        try:
            files = _hub_files(repo, local_only=False)
        except Exception as err:  # noqa: BLE001 - network, auth and HTTP errors from huggingface_hub
            raise _hub_missing(repo, f"{type(err).__name__}: {err}") from None
        if files is None:
            raise _hub_missing(repo, "the repository lacks some of these files")
    return _from_files(HF_PREFIX + repo, files, {"kind": "hf", "repo": repo, "weights": files["weights"].name})


def local_files(folder: Path) -> dict[str, Path]:
    """The HF-layout files in ``folder`` (``config.json`` + weights [+ vocab.json ...])."""
    weights = next((folder / f for f in limits.W2V_HUB_FILES_WEIGHTS if (folder / f).is_file()), None)
    if weights is None:
        raise ModelUnavailableError(
            f"The folder {folder} has no {' or '.join(limits.W2V_HUB_FILES_WEIGHTS)}: put the checkpoint's "
            "weights there next to config.json and vocab.json.",
            zh=(
                f"文件夹 {folder} 中没有 {' 或 '.join(limits.W2V_HUB_FILES_WEIGHTS)}：请把检查点的权重放在 config.json"
                " 和 vocab.json 旁边。"
            ),
        )
    files = {"config.json": folder / "config.json", "weights": weights}
    files.update({n: folder / n for n in HF_OPTIONAL if (folder / n).is_file()})
    return files


def load_local(name: str, folder: Path) -> W2VModel:
    """Load an HF-layout folder (see :func:`local_files`)."""
    files = local_files(folder)
    return _from_files(name, files, {"kind": "local", "folder": str(folder), "weights": files["weights"].name})


def _from_files(name: str, files: dict[str, Path | None], source: dict) -> W2VModel:
    try:
        model, meta = w2v_hf.build_model({k: v for k, v in files.items() if v is not None})
    except AudioLabError as err:
        raise AudioLabError(f"Cannot use {name}: {err}", zh=f"无法使用 {name}：{err.text('zh')}") from None
    return W2VModel(model, name=name, source=source, **meta)
