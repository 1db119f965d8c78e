"""Start-up: what importing the app loads, torchcodec without torch._dynamo, the warm-up."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import soundfile as sf
import torch

from tests import signals

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, check=True)
    return done.stdout.strip().splitlines()[-1]


def test_importing_the_app_leaves_matplotlib_and_torchcodec_for_later():
    out = _run("import sys, app; print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'torchcodec'}))")
    assert out == "[]"


def test_torchcodec_decodes_without_importing_torch_dynamo_which_still_imports_later(tmp_path):
    x = signals.chirp(seconds=0.5)
    path = signals.write(tmp_path / "c.wav", x, 16_000)
    code = (
        "import sys, types, torch\n"
        "from audiolab.core import io as aio\n"
        "d = aio.decode(sys.argv[1])\n"
        "before = 'torch._dynamo' in sys.modules\n"
        "import torch._dynamo\n"
        "real = isinstance(torch._dynamo, types.ModuleType) and torch._dynamo.disallow_in_graph.__module__\n"
        "print(before, real, d.waveform.shape[-1], float(d.waveform.abs().sum()))\n"
    )
    before, real, frames, total = _run(code, str(path)).split()
    reference, _ = sf.read(path, dtype="float32")
    assert before == "False" and real.startswith("torch._dynamo")
    assert int(frames) == len(reference)
    assert abs(float(total) - float(abs(reference).sum())) < 1e-3


def test_warm_up_runs_every_step_without_a_failure(caplog):
    from components import warmup

    with caplog.at_level(logging.WARNING, logger="audiolab.warmup"):
        seconds = warmup.warm_up()
    assert set(seconds) == set(warmup.STEPS)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_the_warm_up_clip_is_the_chirp_it_says():
    from components import warmup

    x = warmup._clip(0.25)
    assert x.shape == (1, 4000) and x.dtype == torch.float32
    spectrum = torch.fft.rfft(x[0, :1000] * torch.hann_window(1000))  # first 62.5 ms: near 200-1150 Hz
    peak_hz = int(spectrum.abs().argmax()) * warmup.RATE / 1000
    assert 150 <= peak_hz <= 1200


def test_a_handler_call_and_a_request_count_as_activity():
    from components import activity

    with activity.handling():
        time.sleep(0.05)
        assert activity.quiet_for() == 0.0  # while a handler runs
    time.sleep(0.1)
    assert 0.1 <= activity.quiet_for() < 1.0
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    call = activity.RequestActivity(inner)({"type": "http"}, None, None)
    with pytest.raises(StopIteration):  # nothing in it waits: one step runs it (no event loop needed)
        call.send(None)
    assert seen == ["http"] and activity.quiet_for() < 0.05  # a request start resets the quiet time


def test_the_warm_up_waits_for_a_quiet_moment_before_each_step(monkeypatch):
    from components import activity, warmup

    ran = []
    monkeypatch.setattr(warmup, "STEPS", {"a": lambda x: ran.append(time.monotonic()), "b": lambda x: None})
    with activity.handling():
        thread = threading.Thread(target=warmup.warm_up, args=(0.3,))
        thread.start()
        time.sleep(0.5)
        assert ran == []  # a handler is running: no step starts
        released = time.monotonic()
    thread.join(timeout=5)
    assert len(ran) == 1 and ran[0] - released >= 0.3  # then only after 0.3 s of quiet


def test_the_caller_source_used_while_torchcodec_imports_is_torch_s_own_text():
    import torch._library.utils

    from audiolab.core import io as aio

    def where(get_source):
        return get_source(2)  # the caller of where: the list comprehension below

    ours, torchs = [where(f) for f in (aio._caller_source, torch._library.utils.get_source)]  # one line
    assert ours == torchs and ours.rsplit(":", 1)[0] == __file__


def test_the_frame_module_lookup_used_while_torchcodec_imports_is_inspect_s_answer():
    import inspect

    from audiolab.core import io as aio

    frame = sys._getframe()
    assert aio._FrameModule().getmodule(frame) is inspect.getmodule(frame) is sys.modules[__name__]
    scope: dict = {"__name__": "not_a_module"}
    exec("import sys\nframe = sys._getframe()", scope)  # a frame without a module file: inspect's own answer
    assert aio._FrameModule().getmodule(scope["frame"]) is inspect.getmodule(scope["frame"])
    assert aio._FrameModule().getsourcefile is inspect.getsourcefile  # the rest is inspect's
