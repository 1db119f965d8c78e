"""The disk budget: everything the app writes (its result files and Gradio's cache of uploads and
copies) stays within ``limits.DISK_BUDGET_BYTES`` and leaves the filesystem some free space.

Room is made *before* writing: the oldest files of both folders are swept first, and a write that
still would not fit is refused with a clear message (:func:`ensure_room`). A write that fails
anyway (another program filled the disk) leaves no partial file (:func:`writing`). Uploads are
checked by an ASGI middleware (:class:`UploadGuard`). At start, and then at most once a minute,
files older than ``limits.OUTPUT_MAX_AGE_S`` are deleted from both folders, whichever process
made them (Gradio's own sweep only deletes what the running process created, so a restart
left its files behind for ever).
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import math
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import anyio
from gradio import utils as gradio_utils
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse

from audiolab.core import limits
from audiolab.core.errors import AudioLabError

log = logging.getLogger("audiolab.storage")

OUTPUT_DIR = Path(tempfile.gettempdir()) / "torchaudio-lab"  # our result files, one fresh folder each
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_lock = threading.Lock()  # one sweep at a time: two requests must not both count the same free bytes
_kept: set[str] = set()  # files never swept (Gradio's copies of our example clips)
_last_age_sweep = 0.0
_used, _counted_at = 0, -math.inf  # bytes in the folders at the last count (plus those written since), and when


def folders() -> list[Path]:
    """The folders the app writes to: its results and Gradio's cache (``GRADIO_TEMP_DIR``)."""
    return [OUTPUT_DIR, Path(gradio_utils.get_upload_folder())]


def short_of_space() -> AudioLabError:
    """The error a user sees when a result or upload would not fit."""
    return AudioLabError(
        "The server is short of disk space right now; please try a shorter clip, or try again later.",
        zh="服务器磁盘空间暂时不足；请换一段更短的音频，或稍后再试。",
    )


def keep(paths: Iterable[str | os.PathLike]) -> None:
    """Never sweep these files (Gradio serves them for the whole run, e.g. the example clips)."""
    _kept.update(str(Path(p).resolve()) for p in paths)


def _files(roots: Iterable[Path]) -> list[tuple[float, int, Path]]:
    """``(mtime, size, path)`` of every file under ``roots``, oldest first."""
    found: list[tuple[float, int, Path]] = []
    folders_left = [str(root) for root in roots]
    while folders_left:
        with contextlib.suppress(OSError), os.scandir(folders_left.pop()) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        folders_left.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        st = entry.stat(follow_symlinks=False)
                        found.append((st.st_mtime, st.st_size, Path(entry.path)))
    found.sort(key=lambda f: f[0])
    return found


def _delete(path: Path) -> bool:
    """Delete ``path`` (and its folder if that is now empty, below one of :func:`folders`)."""
    try:
        path.unlink()
    except OSError:
        return False
    if path.parent not in folders():
        with contextlib.suppress(OSError):
            path.parent.rmdir()
    return True


def _reserve(root: Path) -> tuple[int, int]:
    """``(free bytes, bytes to keep free)`` of the filesystem holding ``root``."""
    usage = shutil.disk_usage(root)
    return usage.free, min(limits.DISK_MIN_FREE_BYTES, int(usage.total * limits.DISK_MIN_FREE_FRACTION))


def _shortfall(nbytes: int, used: int, roots: list[Path]) -> int:
    """Bytes to delete before ``nbytes`` more fit both the budget and every filesystem's reserve."""
    over_budget = used + nbytes - limits.DISK_BUDGET_BYTES
    over_disk = max((nbytes - free + reserve for free, reserve in map(_reserve, roots)), default=0)
    return max(over_budget, over_disk)


def ensure_room(nbytes: int) -> None:
    """Make room for ``nbytes`` more bytes, sweeping the oldest files first; raise if they cannot fit.

    The folders are counted at most every ``limits.DISK_RESCAN_S`` seconds (bytes written since are
    added to that count) unless the count says a sweep is needed. Files younger than
    ``limits.DISK_SWEEP_MIN_AGE_S`` (results on their way to a browser) and the kept ones are never swept."""
    global _used, _counted_at
    roots = [root for root in folders() if root.is_dir()] or [Path(tempfile.gettempdir())]
    with _lock:
        if time.monotonic() - _counted_at < limits.DISK_RESCAN_S and _shortfall(nbytes, _used, roots) <= 0:
            _used += nbytes
            return
        files = _files(roots)
        _used, _counted_at = sum(size for _, size, _ in files), time.monotonic()
        missing = _shortfall(nbytes, _used, roots)
        cutoff = time.time() - limits.DISK_SWEEP_MIN_AGE_S
        for mtime, size, path in files:
            if missing <= 0 or mtime > cutoff:
                break
            if str(path) not in _kept and _delete(path):
                missing, _used = missing - size, _used - size
        if missing > 0:
            log.warning("disk budget: %d bytes refused (%d short)", nbytes, missing)
            raise short_of_space()
        _used += nbytes


def sweep_old(max_age_s: float = limits.OUTPUT_MAX_AGE_S) -> int:
    """Delete files older than ``max_age_s`` seconds from both folders (any process's); returns how many.
    The bytes left are the count :func:`ensure_room` starts from (the next upload need not count)."""
    global _last_age_sweep, _used, _counted_at
    _last_age_sweep = time.monotonic()
    cutoff = time.time() - max_age_s
    roots = [root for root in folders() if root.is_dir()]
    with _lock:
        files = _files(roots)
        old = [(size, path) for mtime, size, path in files if mtime < cutoff and str(path) not in _kept]
        deleted = [size for size, path in old if _delete(path)]
        _used, _counted_at = sum(size for _, size, _ in files) - sum(deleted), time.monotonic()
        return len(deleted)


def sweep_old_now_and_then() -> None:
    """:func:`sweep_old`, at most once every ``limits.SWEEP_EVERY_S`` seconds."""
    if time.monotonic() - _last_age_sweep >= limits.SWEEP_EVERY_S:
        sweep_old()


_written: contextvars.ContextVar[list[Path] | None] = contextvars.ContextVar("written", default=None)


@contextlib.contextmanager
def writing(path: Path, nbytes: int) -> Iterator[Path]:
    """Room for ``nbytes`` first; the file at ``path`` (and its fresh folder) is removed if writing fails.

    A full disk found while writing becomes the "short of disk space" message."""
    ensure_room(nbytes)
    try:
        yield path
    except BaseException as err:
        _delete(path)
        if _ran_out_of_space(err):
            raise short_of_space() from None
        raise
    written = _written.get()
    if written is not None:
        written.append(path)


@contextlib.contextmanager
def removed_on_failure() -> Iterator[None]:
    """Files written (through :func:`writing`) inside this block are deleted if it raises:
    a request that fails leaves none of its results behind."""
    token = _written.set([])
    try:
        yield
    except BaseException:
        for path in _written.get() or []:
            _delete(path)
        raise
    finally:
        _written.reset(token)


def _ran_out_of_space(err: BaseException | None) -> bool:
    """True if ``err`` or an error it arose from is "no space left" (libsndfile's writer, for one,
    turns it into an ``AssertionError`` raised while the ``OSError`` is being handled)."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in _NO_SPACE:
            return True
        err = err.__cause__ or err.__context__
    return False


class UploadGuard:
    """ASGI middleware: before Gradio stores an upload, make room for it (its declared length, or
    the largest allowed file), or answer 507 with the "short of disk space" message; a full disk
    during the upload removes its partial files and gets the same answer."""

    def __init__(self, app) -> None:
        self.app = app
        self.limiter: anyio.CapacityLimiter | None = None  # its own threads: the default pool may be all taken

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith("/upload"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        nbytes = int(length) if length.isdigit() else limits.MAX_FILE_BYTES
        try:
            self.limiter = self.limiter or anyio.CapacityLimiter(4)
            await anyio.to_thread.run_sync(ensure_room, 2 * nbytes, limiter=self.limiter)  # temporary + stored file
        except AudioLabError as err:
            await _refusal(err)(scope, receive, send)
            return
        upload_dir = Path(gradio_utils.get_upload_folder())
        before = set(upload_dir.glob("tmp*"))
        try:
            await self.app(scope, receive, send)
        except Exception as err:
            if not _ran_out_of_space(err):
                raise
            for partial in set(upload_dir.glob("tmp*")) - before:  # Gradio's temporary files of this upload
                _delete(partial)
            await _refusal(short_of_space())(scope, receive, send)


def _refusal(err: AudioLabError) -> PlainTextResponse:
    """507 Insufficient Storage with the message in both languages (no language is known here)."""
    return PlainTextResponse(f"{err} / {err.zh}", status_code=507)


def _sweep_at_start() -> None:
    """:func:`sweep_old`, logged; run in a thread of its own while the server starts."""
    log.info("start-up sweep: %d stale files deleted", sweep_old())


def start_sweep() -> threading.Thread:
    """Start the start-up sweep in the background and return its thread. Thousands of stale files on a
    cold disk take seconds to delete, and Gradio gives up on a server not started within 5 s; writes
    that come meanwhile wait for the sweep's lock and then start from its count."""
    global _last_age_sweep
    _last_age_sweep = time.monotonic()  # the sweep is on its way: the once-a-minute one need not start too
    thread = threading.Thread(target=_sweep_at_start, name="start-up sweep", daemon=True)
    thread.start()
    return thread


@contextlib.asynccontextmanager
async def lifespan(app):
    """FastAPI lifespan: at server start, keep Gradio's copies of the example clips and start deleting
    the stale files of earlier runs (SIGTERM or kill -9 leave Gradio's cache behind)."""
    blocks = app.get_blocks()
    keep(path for block in blocks.blocks.values() for path in getattr(block, "keep_in_cache", ()))
    start_sweep()
    yield


def app_kwargs() -> dict:
    """``launch(app_kwargs=...)``: the upload guard and the start-up sweep."""
    return {"middleware": [Middleware(UploadGuard)], "lifespan": lifespan}
