"""Run a recipe over many files: plan (resume), an engine (in-process, local process pool, Ray Data),
and ``manifest.jsonl``, one line per input.

Every engine runs :func:`audiolab.batch.tasks.process_file`, so results are the same whichever
runs them. The output folder holds ``recipe.json`` (a folder belongs to one recipe), the outputs
mirroring the inputs' relative paths, and ``manifest.jsonl``. A re-run skips inputs whose line
says ``ok`` and whose output exists; failed ones are tried again.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from audiolab.batch import recipes, tasks
from audiolab.core import cache
from audiolab.core.errors import AudioLabError

ENGINES = ("local", "ray")
MANIFEST = "manifest.jsonl"
RECIPE = "recipe.json"
WINDOW_PER_WORKER = 2  # tasks queued per worker process (a crash loses at most these to a retry)
CHUNK_MAX = 4  # files per task at most (small files: fewer round trips; a crash retries them one by one)
DIED = "The worker process died on this file (a crash, or the machine ran out of memory)."

Job = tuple[str, str]  # (source path, relative path)


@dataclass
class Summary:
    """How a run went: counts of inputs, and the manifest's path."""

    total: int
    ok: int
    failed: int
    skipped: int  # done by an earlier run
    seconds: float
    manifest: Path

    @property
    def exit_status(self) -> int:
        """0 when every input succeeded, 1 when any failed."""
        return 1 if self.failed else 0


# --- plan: what is done, what to run -------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, dict]:
    """The last record of each input path in a ``manifest.jsonl`` (unreadable lines ignored)."""
    records: dict[str, dict] = {}
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("path"), str):
            records[record["path"]] = record
    return records


def claim_folder(out_dir: Path, recipe: dict) -> None:
    """Create ``out_dir`` for ``recipe`` (its ``recipe.json``), refusing a folder of another recipe."""
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = out_dir / RECIPE
    if saved.is_file():
        try:
            same = recipes.same_recipe(json.loads(saved.read_text(encoding="utf-8")), recipe)
        except json.JSONDecodeError:
            same = False
        if not same:
            raise AudioLabError(
                f"{out_dir} holds the results of another recipe ({RECIPE}): pick a new output folder.",
                zh=f"{out_dir} 中是另一个配方（{RECIPE}）的结果：请换一个输出文件夹。",
            )
    else:
        saved.write_text(recipes.to_json(recipe), encoding="utf-8")


def plan(recipe: dict, inputs: list[Job], out_dir: Path) -> tuple[list[Job], dict[str, dict]]:
    """``(jobs to run, records already known)``: done inputs (ok, output present) are skipped;
    an input whose output name another input already takes gets an error record."""
    earlier = read_manifest(out_dir / MANIFEST)
    known: dict[str, dict] = {}
    todo: list[Job] = []
    owners: dict[str, str] = {}
    for src, rel in inputs:
        name = tasks.output_name(rel, recipe)
        if name in owners or rel in known:
            known.setdefault(rel, clash_record(rel, name, owners.get(name, rel)))
            continue
        owners[name] = rel
        done = earlier.get(rel)
        if done and done.get("status") == "ok" and (out_dir / name).is_file():
            known[rel] = done
        else:
            todo.append((src, rel))
    return todo, known


def error_record(rel: str, name: str, message: str) -> dict:
    """A manifest record of an input that failed before or outside :func:`tasks.process_file`."""
    return {"path": rel, "output": name, "status": "error", "message": message, "shape": None, "sample_rate": None,
            "seconds": None, "notes": [], "elapsed_s": 0.0}  # fmt: skip


def clash_record(rel: str, name: str, owner: str) -> dict:
    """The error record of an input whose output ``name`` is taken by ``owner``."""
    return error_record(rel, name, f"Skipped: its output {name} is the output of {owner} (same name, another "
                                   "extension, or listed twice).")  # fmt: skip


# --- engines ---------------------------------------------------------------------------------------


def inline_records(recipe: dict, jobs: list[Job], out_dir: Path) -> Iterator[dict]:
    """One file after another in this process (the app's Batch tab, or ``--workers 1``)."""
    for src, rel in jobs:
        yield tasks.process_file(recipe, src, rel, str(out_dir))


def _worker_init(device: str) -> None:
    import torch

    torch.set_num_threads(1)  # one core per worker: the pool is the parallelism
    cache.set_default_device(device)


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` (workers start in milliseconds with the engine imported) from a single-threaded
    process on the CPU; ``spawn`` where forking could copy another thread's held lock (e.g. inside
    the app) or a CUDA context."""
    fork = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    return multiprocessing.get_context("fork" if fork and cache.default_device() == "cpu" else "spawn")


def _pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes, each on one thread and the device chosen here."""
    return ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_init,
                               initargs=(cache.default_device(),))  # fmt: skip


def process_files(recipe: dict, jobs: list[Job], out_dir: str) -> list[dict]:
    """:func:`tasks.process_file` of each job, in a worker: one round trip for a few small files."""
    return [tasks.process_file(recipe, src, rel, out_dir) for src, rel in jobs]


def chunk_size(pending: int, workers: int) -> int:
    """Files per task: up to ``CHUNK_MAX`` while there are many left (fewer round trips between the
    processes), one at a time near the end (every worker busy until the last file)."""
    return max(1, min(CHUNK_MAX, pending // (workers * 4)))


def _drain(pool: ProcessPoolExecutor, recipe: dict, pending: deque, out_dir: Path, window: int,
           lost: list[Job], workers: int = 1) -> Iterator[dict]:  # fmt: skip
    """Feed ``pending`` jobs to ``pool`` (at most ``window`` tasks queued, each of a few files) and
    yield their records; if the pool breaks, the jobs it held go to ``lost``."""
    running: dict[Future, list[Job]] = {}
    try:
        while pending or running:
            while pending and len(running) < window:
                size = chunk_size(len(pending), workers)
                chunk = [pending.popleft() for _ in range(min(size, len(pending)))]
                running[pool.submit(process_files, recipe, chunk, str(out_dir))] = chunk
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                records = future.result()
                del running[future]
                yield from records
    except BrokenProcessPool:
        lost.extend(job for chunk in running.values() for job in chunk)


def local_records(recipe: dict, jobs: list[Job], out_dir: Path, workers: int) -> Iterator[dict]:
    """A pool of ``workers`` processes on this machine. A worker that dies (a crash, the kernel's
    out-of-memory killer) loses only the files it held: each is tried again alone, and one that
    kills its worker again gets an error record."""
    if workers <= 1 or len(jobs) <= 1:
        yield from inline_records(recipe, jobs, out_dir)
        return
    tasks.warm_up()
    pending, lost = deque(jobs), []
    while pending:
        with _pool(workers) as pool:
            yield from _drain(pool, recipe, pending, out_dir, workers * WINDOW_PER_WORKER, lost, workers)
    for job in lost:
        alone: list[Job] = []
        with _pool(1) as pool:
            yield from _drain(pool, recipe, deque([job]), out_dir, 1, alone)
        if alone:
            rel = job[1]
            yield error_record(rel, tasks.output_name(rel, recipe), DIED)


def default_workers() -> int:
    """One worker per CPU core."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def records(recipe: dict, jobs: list[Job], out_dir: Path, engine: str, workers: int) -> Iterator[dict]:
    """The records of ``jobs`` from the chosen engine, in the order they finish."""
    if engine == "ray":
        from audiolab.batch import ray_engine  # Ray is imported only when asked for

        return ray_engine.ray_records(recipe, jobs, out_dir, workers)
    if engine == "inline":
        return inline_records(recipe, jobs, out_dir)
    return local_records(recipe, jobs, out_dir, workers)


# --- a run ---------------------------------------------------------------------------------------


def write_manifest(path: Path, inputs: list[Job], known: dict[str, dict]) -> None:
    """The final manifest: one line per input, in input order (through a renamed temporary file)."""
    part = path.with_name(path.name + ".part")
    seen: set[str] = set()
    with open(part, "w", encoding="utf-8") as f:
        for _, rel in inputs:
            if rel in known and rel not in seen:
                seen.add(rel)
                f.write(json.dumps(known[rel], ensure_ascii=False) + "\n")
    os.replace(part, path)


def run_batch(recipe: dict, inputs: list[Job], out_dir: str | Path, *, engine: str = "local",
              workers: int | None = None, on_start: Callable[[int, int], None] | None = None,
              on_record: Callable[[dict], None] | None = None) -> Summary:  # fmt: skip
    """Run ``recipe`` (parsed) on ``inputs`` into ``out_dir``.

    ``on_start(to_run, already_done)`` is called once the plan is made, ``on_record(record)`` per
    finished input (for a progress bar). Records are appended to ``manifest.jsonl`` as they come
    (an interrupted run resumes from there), which is rewritten at the end with one line per input.
    """
    if engine not in (*ENGINES, "inline"):
        raise AudioLabError(f"Invalid engine {engine!r}. Please choose one of: {', '.join(ENGINES)}.",
                            zh=f"无效的引擎 {engine!r}。请选择：{', '.join(ENGINES)}。")  # fmt: skip
    start = time.perf_counter()
    out_dir = Path(out_dir)
    claim_folder(out_dir, recipe)
    todo, known = plan(recipe, inputs, out_dir)
    skipped = sum(1 for r in known.values() if r["status"] == "ok")
    if on_start is not None:
        on_start(len(todo), skipped)
    manifest = out_dir / MANIFEST
    with open(manifest, "a", encoding="utf-8") as log:
        for record in records(recipe, todo, out_dir, engine, workers or default_workers()) if todo else ():
            known[record["path"]] = record
            log.write(json.dumps(record, ensure_ascii=False) + "\n")
            log.flush()
            if on_record is not None:
                on_record(record)
    write_manifest(manifest, inputs, known)
    failed = sum(1 for r in known.values() if r["status"] != "ok")
    return Summary(len(known), len(known) - failed, failed, skipped, time.perf_counter() - start, manifest)
