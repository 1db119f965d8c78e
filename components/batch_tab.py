"""Batch tab: a recipe (downloaded from Features, Augment or wav2vec2) run over a zip of audio files.

API names (inputs -> outputs), see README:
- ``batch(files_zip, recipe)`` -> results zip (outputs mirroring the zip's paths, ``manifest.jsonl``,
  ``recipe.json``), manifest rows, summary, the command line for a folder or a Ray cluster.
The Features, Augment and wav2vec2 tabs offer "Download recipe" (:func:`recipe_widgets`, :func:`recipe_file`).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from audiolab.batch import archive, engine, recipes
from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from components.common import fresh_path, input_path, output_file, user_errors
from components.i18n import register, t

HEADERS = ["path", "status", "message", "shape", "sample rate (Hz)", "seconds"]
ROWS_SHOWN = limits.BATCH_MAX_FILES

register(
    {
        "tab_batch": ("Batch", "批处理"),
        "batch_intro": (
            "Run a **recipe** over many files: download one from the Features, Augment or wav2vec2 tab "
            f"(**Download recipe**), upload a zip of up to {limits.BATCH_MAX_FILES} audio files and get a zip of "
            "the results with a `manifest.jsonl` (one line per file: ok or the error). A bad file is listed and "
            "skipped. For a whole dataset, run the same recipe on your machine or a Ray cluster with the command "
            "below.",
            "对许多文件运行一个**配方**：在“特征”“增强”或 wav2vec2 标签页点击**下载配方**，上传最多 "
            f"{limits.BATCH_MAX_FILES} 个音频文件的 zip，即可得到结果 zip 及 `manifest.jsonl`"
            "（每个文件一行：成功或错误）。"
            "损坏的文件会被列出并跳过。处理整个数据集时，请用下面的命令在本机或 Ray 集群上运行同一配方。",
        ),
        "batch_zip": ("Audio files (.zip)", "音频文件（.zip）"),
        "batch_recipe": ("Recipe (JSON)", "配方（JSON）"),
        "batch_load_recipe": ("Load a recipe file", "载入配方文件"),
        "batch_run": ("Run the batch", "运行批处理"),
        "batch_results": ("Results (.zip with manifest.jsonl)", "结果（含 manifest.jsonl 的 .zip）"),
        "batch_manifest": ("Manifest", "清单"),
        "batch_summary": ("Summary", "摘要"),
        "batch_command": (
            "The same recipe on a folder (local processes) or a Ray cluster",
            "在文件夹（本机多进程）或 Ray 集群上运行同一配方",
        ),
        "batch_recipe_button": ("Download recipe (run it on a dataset)", "下载配方（用于整个数据集）"),
        "batch_recipe_file": (
            "Recipe (open it in the Batch tab or pass it to python -m audiolab.batch)",
            "配方（在“批处理”标签页打开，或传给 python -m audiolab.batch）",
        ),
    }
)

EXAMPLE_RECIPE = recipes.to_json({"version": 1, "feature": "mfcc", "params": {"n_mfcc": 13}})


# --- recipes from the other tabs --------------------------------------------------------------------


def recipe_file(recipe: dict, name: str) -> str:
    """Write a parsed recipe to a fresh ``name`` (e.g. ``recipe_mfcc.json``); returns its path."""
    return output_file(name, recipes.to_json(recipe).encode("utf-8"))


def recipe_widgets(elem_id: str) -> tuple[gr.Button, gr.File]:
    """A "Download recipe" button and the file it fills, in the current layout (Features, Augment,
    wav2vec2 tabs wire the button to a handler returning :func:`recipe_file`)."""
    button = gr.Button(t("batch_recipe_button"), size="sm", elem_id=f"{elem_id}-button")
    return button, gr.File(label=t("batch_recipe_file"), elem_id=elem_id)


# --- the batch ---------------------------------------------------------------------------------


def command_line(recipe: dict) -> str:
    """Shell lines that run ``recipe`` on a folder, locally and on a Ray cluster."""
    kind = recipes.recipe_kind(recipe)
    ray_extra = "  # wav2vec2: one model per actor, on the cluster's GPUs" if kind == "wav2vec2" else ""
    return (
        "# save the recipe as recipe.json, then, in this project's folder:\n"
        "python -m audiolab.batch --recipe recipe.json --input my_clips/ --output results/ --workers 4\n\n"
        "# the same on a Ray cluster (output on storage every node sees):\n"
        "RAY_ADDRESS=ray://head-node:10001 python -m audiolab.batch --recipe recipe.json \\\n"
        f"    --input /shared/clips/ --output /shared/results/ --engine ray{ray_extra}\n"
    )


def _rows(manifest: Path) -> list[list]:
    rows = []
    for line in manifest.read_text(encoding="utf-8").splitlines()[:ROWS_SHOWN]:
        r = json.loads(line)
        shape = "x".join(str(n) for n in r["shape"]) if r["shape"] else ""
        rows.append([r["path"], r["status"], r["message"], shape, r["sample_rate"] or "", r["seconds"] or ""])
    return rows


def _progress_reporter(progress: gr.Progress, total: list[int]) -> tuple[Callable, Callable]:
    done = [0]

    def start(todo: int, _skipped: int) -> None:
        total[0] = todo
        progress((0, todo), desc="files", unit="files")

    def record(_record: dict) -> None:
        done[0] += 1
        progress((done[0], total[0]), desc="files", unit="files")

    return start, record


@user_errors
def batch(files_zip, recipe, progress=gr.Progress()):  # noqa: B008 - Gradio's documented way to get a progress bar
    """Run a recipe (from Download recipe in Features, Augment or wav2vec2) on every audio file of a zip.

    Args:
        files_zip: a zip of at most 200 audio files (wav, flac, mp3, ogg, ...; 400 MB unpacked): an http(s) URL or an uploaded file.
        recipe: JSON text, e.g. {"version": 1, "feature": "mfcc", "params": {"n_mfcc": 13}}; or a "chain" or "wav2vec2" recipe.

    Returns:
        the results zip (one output per file at the file's path, manifest.jsonl, recipe.json), the manifest rows
        [path, status ok/error, message, shape, sample rate, seconds], a summary, and the command line that runs
        the same recipe on a folder or a Ray cluster.
    """  # noqa: E501 - Gradio reads each parameter's description from one line
    parsed = recipes.parse_recipe(str(recipe or ""))
    path = input_path(files_zip)
    if not path:
        raise AudioLabError("Please upload a zip of audio files first.", zh="请先上传音频文件的 zip。")
    with tempfile.TemporaryDirectory(prefix="audiolab-batch-") as work:
        found = archive.extract_audio(path, Path(work) / "in")
        start, record = _progress_reporter(progress, [len(found)])
        summary = engine.run_batch(parsed, found, Path(work) / "out", engine="inline", on_start=start,
                                   on_record=record)  # fmt: skip
        results = archive.zip_folder(Path(work) / "out", fresh_path("batch_results.zip"))
        rows = _rows(summary.manifest)
    n, ok, failed, seconds = summary.total, summary.ok, summary.failed, summary.seconds
    text = f"{n} file(s): {ok} ok, {failed} failed, {seconds:.1f} s. · "
    text += f"{n} 个文件：{ok} 个成功，{failed} 个失败，{seconds:.1f} 秒。"
    return str(results), rows, text, command_line(parsed)


@user_errors
def load_recipe(file) -> str:
    """The text of an uploaded recipe file, checked."""
    path = input_path(file)
    if not path:
        return EXAMPLE_RECIPE
    return recipes.to_json(recipes.read_recipe(path))


# --- layout ------------------------------------------------------------------------------------


def build(shared: dict) -> None:
    """Lay out the Batch tab inside the current ``gr.Tab``."""
    gr.Markdown(t("batch_intro"))
    with gr.Row():
        with gr.Column(scale=2):
            files_zip = gr.File(label=t("batch_zip"), file_types=[".zip"], elem_id="batch-zip")
            recipe = gr.Code(EXAMPLE_RECIPE, language="json", label=t("batch_recipe"), interactive=True,
                             elem_id="batch-recipe")  # fmt: skip
            upload = gr.UploadButton(t("batch_load_recipe"), file_types=[".json"], size="sm", elem_id="batch-load")
            run = gr.Button(t("batch_run"), variant="primary", elem_id="batch-run")
        with gr.Column(scale=3):
            results = gr.File(label=t("batch_results"), elem_id="batch-results")
            summary = gr.Markdown(elem_id="batch-summary")
            rows = gr.Dataframe(headers=HEADERS, label=t("batch_manifest"), interactive=False, wrap=True,
                                elem_id="batch-manifest")  # fmt: skip
            command = gr.Code(command_line(recipes.parse_recipe(EXAMPLE_RECIPE)), language="shell",
                              label=t("batch_command"), elem_id="batch-command")  # fmt: skip
    upload.upload(load_recipe, upload, recipe, api_name=False)
    run.click(batch, [files_zip, recipe], [results, rows, summary, command], api_name="batch")
