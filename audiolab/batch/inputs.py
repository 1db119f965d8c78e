"""What a batch runs on: the audio files of a folder (recursive) or the paths of a CSV/JSONL manifest.

Each input is ``(source path, relative path)``; the relative path is where its output goes
under the output folder, so outputs mirror the input tree and can never land outside it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path, PurePosixPath

from audiolab.core.errors import AudioLabError

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".au", ".webm")
MANIFEST_EXTENSIONS = (".csv", ".jsonl")
PATH_COLUMNS = ("path", "file", "filename", "audio", "audio_path")  # a manifest's path column, first found


def _relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` (POSIX), or its absolute path without the anchor when outside."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return PurePosixPath(*path.parts[1:]).as_posix()


def folder_inputs(folder: Path, skip: Path | None = None) -> list[tuple[str, str]]:
    """Audio files under ``folder`` (by extension, sorted), except those under ``skip`` (the output)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() not in AUDIO_EXTENSIONS or not path.is_file():
            continue
        if skip is not None and path.resolve().is_relative_to(skip):
            continue
        found.append((str(path), path.relative_to(folder).as_posix()))
    return found


def _csv_paths(text: str) -> list[str]:
    rows = [row for row in csv.reader(text.splitlines()) if row and any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(c) for c in PATH_COLUMNS if c in header), None)
    if column is None:  # no header: the first column holds the paths
        return [row[0].strip() for row in rows]
    return [row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip()]


def _path_of(item: object) -> object:
    """The path in a JSONL item: the item itself (a string) or its first path column."""
    if isinstance(item, dict):
        return next((item[c] for c in PATH_COLUMNS if c in item), None)
    return item


def _jsonl_paths(text: str) -> list[str]:
    paths = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise AudioLabError(f"Manifest line {number} is not JSON: {err.msg}.",
                                zh=f"清单第 {number} 行不是 JSON：{err.msg}。") from None  # fmt: skip
        value = _path_of(item)
        if not isinstance(value, str) or not value.strip():
            raise AudioLabError(
                f'Manifest line {number} has no path (use {{"path": "a.wav"}} or "a.wav").',
                zh=f'清单第 {number} 行没有路径（请写成 {{"path": "a.wav"}} 或 "a.wav"）。',
            )
        paths.append(value.strip())
    return paths


def manifest_inputs(manifest: Path) -> list[tuple[str, str]]:
    """The paths a CSV (column ``path``, or the first) or JSONL manifest lists, relative ones taken
    from the manifest's folder; missing files are kept (each gets an error record)."""
    text = manifest.read_text(encoding="utf-8-sig")
    paths = _csv_paths(text) if manifest.suffix.lower() == ".csv" else _jsonl_paths(text)
    root = manifest.parent.resolve()
    out = []
    for value in paths:
        path = Path(value).expanduser()
        path = (path if path.is_absolute() else root / path).resolve()
        out.append((str(path), _relative(path, root)))
    return out


def list_inputs(source: str | Path, output: str | Path | None = None) -> list[tuple[str, str]]:
    """``[(path, relative path), ...]`` of a folder or a manifest; raises when there is nothing to run."""
    source = Path(source).expanduser()
    skip = Path(output).expanduser().resolve() if output is not None else None
    if source.is_dir():
        inputs = folder_inputs(source, skip)
    elif source.is_file() and source.suffix.lower() in MANIFEST_EXTENSIONS:
        inputs = manifest_inputs(source)
    elif source.is_file():
        raise AudioLabError(f"{source.name}: the input must be a folder or a .csv/.jsonl manifest.",
                            zh=f"{source.name}：输入必须是文件夹或 .csv/.jsonl 清单。")  # fmt: skip
    else:
        raise AudioLabError(f"No folder or manifest at {source}.", zh=f"找不到文件夹或清单 {source}。")
    if not inputs:
        kinds = ", ".join(AUDIO_EXTENSIONS)
        raise AudioLabError(f"No audio files in {source} (looked for {kinds}).",
                            zh=f"{source} 中没有音频文件（查找了 {kinds}）。")  # fmt: skip
    return inputs
