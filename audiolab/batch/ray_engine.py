"""The Ray engine: the same per-file function, run by Ray Data on the cluster ``RAY_ADDRESS`` names
(or a local Ray when none is set, or the one this process already started).

Features and augment chains are stateless tasks, one CPU each. wav2vec2 recipes run in actors
that load the model once each, on a GPU (``num_gpus=1``) where the cluster has GPUs. Outputs are
written by the workers: on a cluster, the output folder must be on storage every node sees.
Ray is imported only here, so the app and the local engine never pay for it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

import audiolab
from audiolab.batch import recipes, tasks
from audiolab.wav2vec2 import models as w2v_models

PASSED_ENV = (w2v_models.ENV_MODEL_DIR, w2v_models.ENV_HF_MODELS, w2v_models.ENV_OFFLINE, "TORCH_HOME", "HF_HOME")


def runtime_env() -> dict:
    """Ship the ``audiolab`` package to the workers (a cluster need not have it installed) with the
    environment variables that say where models are."""
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
    return {"py_modules": [str(Path(audiolab.__file__).parent)], "env_vars": env}


def ensure_ray():
    """``ray``, connected: to the running Ray of this process, else ``RAY_ADDRESS``'s, else a new local one."""
    import ray

    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, runtime_env=runtime_env(),
                 logging_level=logging.WARNING, include_dashboard=False)  # fmt: skip
    ray.data.DataContext.get_current().enable_progress_bars = False  # the CLI draws its own
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


def _row_to_record(row: dict) -> dict:
    return json.loads(str(row["record"]))


def file_task(row: dict, recipe: dict, out_dir: str) -> dict:
    """A stateless task: one row ``{"src", "rel"}`` in, ``{"record": JSON}`` out (Ray reuses its
    worker processes, so each imports the engine once)."""
    return {"record": json.dumps(tasks.process_file(recipe, str(row["src"]), str(row["rel"]), out_dir))}


class Wav2Vec2Actor:
    """An actor holding one wav2vec2 model (loaded once, on its GPU if it has one) for many files."""

    def __init__(self, recipe: dict, out_dir: str) -> None:
        import torch

        from audiolab.core import cache

        cache.set_default_device("cuda" if torch.cuda.is_available() else "cpu")
        self.recipe, self.out_dir = recipe, out_dir
        try:
            w2v_models.load_model(recipe["model"])
        except Exception:
            logging.getLogger("audiolab.batch").warning("model %s not loaded", recipe["model"], exc_info=True)

    def __call__(self, batch: dict) -> dict:
        out = [json.dumps(tasks.process_file(self.recipe, str(src), str(rel), self.out_dir))
               for src, rel in zip(batch["src"], batch["rel"], strict=True)]  # fmt: skip
        return {"record": np.array(out, dtype=object)}


def dataset(recipe: dict, jobs: list[tuple[str, str]], out_dir: Path, workers: int):
    """The Ray Data pipeline: rows of jobs mapped to rows of JSON records (lazy)."""
    ray = ensure_ray()
    items = [{"src": src, "rel": rel} for src, rel in jobs]
    ds = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), workers * 4)))
    if recipes.recipe_kind(recipe) == "wav2vec2":
        gpus = int(ray.cluster_resources().get("GPU", 0))
        actors = max(1, min(gpus or workers, len(items)))
        pool = ray.data.ActorPoolStrategy(size=actors)
        return ds.map_batches(Wav2Vec2Actor, fn_constructor_args=(recipe, str(out_dir)), batch_size=1, compute=pool,
                              num_gpus=1 if gpus else 0, num_cpus=1)  # fmt: skip
    return ds.map(file_task, fn_kwargs={"recipe": recipe, "out_dir": str(out_dir)}, num_cpus=1)


def ray_records(recipe: dict, jobs: list, out_dir: Path, workers: int) -> Iterator[dict]:
    """The records of ``jobs`` run by Ray Data, as they stream back."""
    for row in dataset(recipe, jobs, out_dir, workers).iter_rows():
        yield _row_to_record(row)
