"""Recipes: a setting tried in the app, as a small versioned JSON file a batch run replays.

Three kinds, each with the names of the endpoint it comes from::

    {"version": 1, "feature": "mfcc", "params": {...}}                      # /features
    {"version": 1, "chain": [...], "seed": 0, "inversion": "phase"}        # /augment
    {"version": 1, "wav2vec2": "emissions", "model": "...", "chunk_s": 20.0, "context_s": 2.0}
    {"version": 1, "wav2vec2": "layer_features", "model": "...", "layer": 6, "chunk_s": ..., "context_s": ...}

:func:`parse_recipe` checks a recipe with the same checks those endpoints use (the feature's
parameters against a nominal clip, the chain step by step, the model name and chunking), so
a bad recipe stops before the first file; checks that depend on each file run per file.
"""

from __future__ import annotations

import json
from pathlib import Path

from audiolab.augment import compute as augment
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from audiolab.features import compute as ft
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import models as w2v_models

VERSION = 1
KINDS = ("feature", "chain", "wav2vec2")
W2V_TASKS = ("emissions", "layer_features")
MAX_RECIPE_CHARS = 50_000
NOMINAL_RATE = 48_000  # a feature recipe is checked on a nominal clip at this rate (resampled to its own) ...
NOMINAL_SECONDS = 12.0  # ... this long, mono; checks that depend on the real file run per file
_KEYS = {
    "feature": {"version", "feature", "params"},
    "chain": {"version", "chain", "seed", "inversion"},
    "wav2vec2": {"version", "wav2vec2", "model", "layer", "chunk_s", "context_s"},
}


def recipe_kind(recipe: dict) -> str:
    """``"feature"``, ``"chain"`` or ``"wav2vec2"``: what a (parsed) recipe runs."""
    return next(k for k in KINDS if k in recipe)


def _load(source: str | dict) -> dict:
    if isinstance(source, dict):
        return dict(source)
    if len(source) > MAX_RECIPE_CHARS:
        raise AudioLabError(f"The recipe is {len(source):,} characters long; the limit is {MAX_RECIPE_CHARS:,}.",
                            zh=f"配方长 {len(source):,} 个字符，上限为 {MAX_RECIPE_CHARS:,}。")  # fmt: skip
    try:
        value = json.loads(source)
    except json.JSONDecodeError as err:
        raise AudioLabError(
            f"The recipe is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno}).",
            zh=f"配方不是有效的 JSON：{err.msg}（第 {err.lineno} 行，第 {err.colno} 列）。",
        ) from None
    if not isinstance(value, dict):
        raise AudioLabError("The recipe must be a JSON object.", zh="配方必须是一个 JSON 对象。")
    return value


def _check_shape(recipe: dict) -> str:
    """The recipe's kind, after checking its version and that it has exactly one kind's keys."""
    if recipe.get("version") != VERSION:
        raise AudioLabError(f"Unsupported recipe version {recipe.get('version')!r}: this app reads version {VERSION}.",
                            zh=f"不支持的配方版本 {recipe.get('version')!r}：本应用读取版本 {VERSION}。")  # fmt: skip
    kinds = [k for k in KINDS if k in recipe]
    if len(kinds) != 1:
        raise AudioLabError('A recipe names exactly one of "feature", "chain" or "wav2vec2".',
                            zh='配方必须且只能包含 "feature"、"chain" 或 "wav2vec2" 之一。')  # fmt: skip
    unknown = sorted(set(recipe) - _KEYS[kinds[0]])
    if unknown:
        valid = ", ".join(sorted(_KEYS[kinds[0]]))
        raise AudioLabError(f"Unknown recipe key(s) {unknown}; valid: {valid}.",
                            zh=f"未知的配方键 {unknown}；有效的键：{valid}。")  # fmt: skip
    return kinds[0]


def _feature(recipe: dict) -> dict:
    feature = ft.check_feature(recipe["feature"])
    params = recipe.get("params", {})
    if not isinstance(params, dict):
        raise AudioLabError('"params" must be a JSON object like {"n_fft": 512}.',
                            zh='"params" 必须是 JSON 对象，例如 {"n_fft": 512}。')  # fmt: skip
    frames = int(NOMINAL_SECONDS * NOMINAL_RATE)
    resolved = ft.check_request(feature, params, sample_rate=NOMINAL_RATE, channels=1, frames=frames)
    return {"version": VERSION, "feature": feature, "params": resolved}


def _chain(recipe: dict) -> dict:
    steps = augment.parse_chain(recipe["chain"])
    for i, step in enumerate(steps):
        if "clip" in (step.get("noise"), step.get("rir")):
            raise AudioLabError(
                f"Step {i + 1} ({step['op']}) uses an uploaded clip, which a batch recipe cannot carry: "
                "use white, pink or brown noise, or the synthetic reverb.",
                zh=f"第 {i + 1} 步（{step['op']}）使用上传的音频，批处理配方无法携带：请使用白噪声、粉红噪声、"
                "布朗噪声或合成混响。",
            )
    seed = int(limits.check_number("seed", recipe.get("seed", 0), *limits.AUG_SEED_RANGE, integer=True))
    inversion = str(limits.check_choice("inversion", recipe.get("inversion", "phase"), limits.AUG_INVERSIONS))
    return {"version": VERSION, "chain": steps, "seed": seed, "inversion": inversion}


def _wav2vec2(recipe: dict) -> dict:
    task = str(limits.check_choice("wav2vec2 task", recipe["wav2vec2"], W2V_TASKS))
    model = w2v_models.check_model_name(recipe.get("model", limits.W2V_DEFAULT_MODEL))
    chunk_s, context_s = w2v.check_chunking(recipe.get("chunk_s", limits.W2V_CHUNK_S),
                                            recipe.get("context_s", limits.W2V_CONTEXT_S))  # fmt: skip
    out = {"version": VERSION, "wav2vec2": task, "model": model, "chunk_s": chunk_s, "context_s": context_s}
    if task == "layer_features":
        out["layer"] = int(limits.check_number("layer", recipe.get("layer", 1), 1, limits.W2V_MAX_LAYERS, integer=True))
    elif "layer" in recipe:
        raise AudioLabError('"layer" belongs to layer_features recipes only.',
                            zh='"layer" 只用于 layer_features 配方。')  # fmt: skip
    return out


def parse_recipe(source: str | dict) -> dict:
    """A checked recipe (JSON text or dict) with every value resolved; raises :class:`AudioLabError`."""
    recipe = _load(source)
    kind = _check_shape(recipe)
    return {"feature": _feature, "chain": _chain, "wav2vec2": _wav2vec2}[kind](recipe)


def read_recipe(path: str | Path) -> dict:
    """:func:`parse_recipe` of a recipe file."""
    path = Path(path)
    if not path.is_file():
        raise AudioLabError(f"No recipe file at {path}.", zh=f"找不到配方文件 {path}。")
    if path.stat().st_size > MAX_RECIPE_CHARS * 4:
        raise AudioLabError(f"The recipe file {path.name} is too large to be a recipe.",
                            zh=f"配方文件 {path.name} 太大，不像是配方。")  # fmt: skip
    return parse_recipe(path.read_text(encoding="utf-8"))


def feature_recipe(feature: str, params: dict) -> dict:
    """The recipe of a ``/features`` call (params resolved as the endpoint resolves them)."""
    return parse_recipe({"version": VERSION, "feature": feature, "params": params})


def chain_recipe(chain: str | list, seed: object = 0, inversion: str = "phase") -> dict:
    """The recipe of an ``/augment`` call: the validated chain, its seed and inversion."""
    return parse_recipe({"version": VERSION, "chain": augment.parse_chain(chain), "seed": seed,
                         "inversion": inversion})  # fmt: skip


def wav2vec2_recipe(task: str, model: str, chunk_s: object, context_s: object, layer: object = None) -> dict:
    """The recipe of an ``/emissions`` (``task="emissions"``) or ``/layer_features`` call."""
    recipe = {"version": VERSION, "wav2vec2": task, "model": model, "chunk_s": chunk_s, "context_s": context_s}
    return parse_recipe(recipe | ({"layer": layer} if task == "layer_features" else {}))


def to_json(recipe: dict) -> str:
    """A recipe as the text of a ``.json`` file (stable key order, UTF-8)."""
    return json.dumps(recipe, indent=2, ensure_ascii=False) + "\n"


def same_recipe(a: dict, b: dict) -> bool:
    """Whether two parsed recipes compute the same thing."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
