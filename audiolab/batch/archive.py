"""Zip in, zip out: the app's Batch tab takes a zip of audio files and returns a zip of results.

Extraction is bounded: at most ``BATCH_MAX_FILES`` audio entries, each copied up to one byte past
the per-file limit (so an oversized entry is reported by the decoder, not written in full), at
most ``BATCH_MAX_TOTAL_BYTES`` in all, names cleaned so nothing lands outside the folder.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from audiolab.batch.inputs import AUDIO_EXTENSIONS
from audiolab.core import limits
from audiolab.core.errors import AudioLabError

COPY_BLOCK = 1 << 20


def safe_name(name: str) -> str | None:
    """A zip entry's name as a relative POSIX path without ``..``/absolute parts (``None``: nothing left)."""
    parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts if p not in ("", ".", "..", "/")]
    return PurePosixPath(*parts).as_posix() if parts else None


def _audio_entries(archive: zipfile.ZipFile) -> list[tuple[zipfile.ZipInfo, str]]:
    entries = []
    for info in archive.infolist():
        name = safe_name(info.filename)
        if info.is_dir() or name is None or name.startswith("__MACOSX/") or PurePosixPath(name).name.startswith("."):
            continue
        if PurePosixPath(name).suffix.lower() in AUDIO_EXTENSIONS:
            entries.append((info, name))
    return entries


def _copy_bounded(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Copy an entry, stopping one byte past the per-file limit; returns the bytes written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    written, cap = 0, min(limits.MAX_FILE_BYTES + 1, budget)
    with archive.open(info) as src, open(target, "wb") as dst:
        while written < cap:
            block = src.read(min(COPY_BLOCK, cap - written))
            if not block:
                break
            dst.write(block)
            written += len(block)
    return written


def extract_audio(zip_path: str | Path, dest: str | Path) -> list[tuple[str, str]]:
    """Extract the audio files of a zip into ``dest``; returns ``[(path, relative path), ...]``."""
    dest = Path(dest)
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError):
        raise AudioLabError("The upload is not a readable zip file.", zh="上传的文件不是可读取的 zip 文件。") from None
    with archive:
        entries = _audio_entries(archive)
        if not entries:
            kinds = ", ".join(AUDIO_EXTENSIONS)
            raise AudioLabError(f"The zip holds no audio files ({kinds}).", zh=f"zip 中没有音频文件（{kinds}）。")
        if len(entries) > limits.BATCH_MAX_FILES:
            raise AudioLabError(
                f"The zip holds {len(entries)} audio files; the app runs at most {limits.BATCH_MAX_FILES} "
                "(use the command line for more).",
                zh=f"zip 中有 {len(entries)} 个音频文件；应用最多处理 {limits.BATCH_MAX_FILES} 个（更多请用命令行）。",
            )
        out, budget = [], limits.BATCH_MAX_TOTAL_BYTES
        for info, name in entries:
            if budget <= 0:
                raise AudioLabError(
                    f"The zip unpacks to more than {limits.BATCH_MAX_TOTAL_BYTES // 2**20} MB of audio.",
                    zh=f"zip 解压后的音频超过 {limits.BATCH_MAX_TOTAL_BYTES // 2**20} MB。",
                )
            try:
                budget -= _copy_bounded(archive, info, dest / name, budget)
            except (zipfile.BadZipFile, OSError, NotImplementedError, EOFError):
                pass  # what was copied stays: the decoder reports the file as corrupt, the others still run
            out.append((str(dest / name), name))
    return out


def zip_folder(folder: str | Path, zip_path: str | Path) -> Path:
    """Zip every file under ``folder`` (paths relative to it) into ``zip_path``."""
    folder, zip_path = Path(folder), Path(zip_path)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                archive.write(path, path.relative_to(folder).as_posix())
    return zip_path
