"""The UI layer's error translation: engine errors, surprises, and CUDA out-of-memory."""

from __future__ import annotations

import subprocess

import gradio as gr
import pytest
import soundfile as sf
import torch
from gradio import processing_utils

from audiolab.core import cache
from audiolab.core.errors import AudioLabError
from components.common import streamed, user_errors
from tests import signals


def test_engine_errors_reach_the_user_in_their_words():
    @user_errors
    def handler():
        raise AudioLabError("n_fft=3 is out of range")

    with pytest.raises(gr.Error, match="n_fft=3 is out of range"):
        handler()


def test_unexpected_errors_are_hidden_behind_a_plain_message():
    @user_errors
    def handler():
        raise KeyError("/secret/server/path")

    with pytest.raises(gr.Error) as err:
        handler()
    assert "secret" not in str(err.value) and "went wrong" in str(err.value)


def test_a_cuda_out_of_memory_error_reruns_the_request_on_the_cpu(monkeypatch):
    monkeypatch.setattr(cache, "_default_device", "cuda")  # as if launched with --device cuda
    seen = []

    @user_errors
    def handler(x):
        seen.append(cache.default_device())
        if cache.default_device() != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return x * 2

    with pytest.warns(UserWarning, match="ran on the CPU"):
        assert handler(21) == 42
    assert seen == ["cuda", "cpu"]
    assert cache.default_device() == "cuda"  # only that request moved


def test_out_of_memory_on_the_cpu_is_a_clear_message(monkeypatch):
    monkeypatch.setattr(cache, "_default_device", "cpu")

    @user_errors
    def handler():
        raise torch.OutOfMemoryError("out of memory")

    with pytest.raises(gr.Error, match="Not enough memory"):
        handler()


def test_a_streamed_handler_that_runs_out_of_cuda_memory_restarts_on_the_cpu(monkeypatch):
    monkeypatch.setattr(cache, "_default_device", "cuda")
    seen = []

    @streamed
    def handler(n):
        for i in range(n):
            seen.append((i, cache.default_device()))
            if cache.default_device() != "cpu" and i == 1:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
            yield i * 10

    with pytest.warns(UserWarning, match="ran on the CPU"):
        assert list(handler(3)) == [0, 0, 10, 20]  # the first update, then the whole stream on the CPU
    assert seen == [(0, "cuda"), (1, "cuda"), (0, "cpu"), (1, "cpu"), (2, "cpu")]
    assert cache.default_device() == "cuda"


def test_a_streamed_handler_s_engine_error_reaches_the_user_and_ends_the_stream():
    @streamed
    def handler():
        yield "first"
        raise AudioLabError("epochs=0 is out of range")

    stream = handler()
    assert next(stream) == "first"
    with pytest.raises(gr.Error, match="epochs=0 is out of range"):
        next(stream)


@pytest.mark.parametrize(
    ("name", "subtype"),
    [("a.wav", "PCM_16"), ("b.wav", "PCM_24"), ("c.wav", "PCM_32"), ("d.wav", "FLOAT"), ("e.wav", "DOUBLE"),
     ("f.wav", "PCM_U8"), ("g.flac", "PCM_16"), ("h.ogg", "VORBIS"), ("i.mp3", "MPEG_LAYER_III"), ("j.aiff", "PCM_16")],
)  # fmt: skip
def test_the_fast_playable_check_agrees_with_gradios_ffprobe_check(tmp_path, name, subtype):
    from components import common

    path = tmp_path / name
    sf.write(path, signals.sine().T.numpy(), 16_000, subtype=subtype)
    assert common.audio_is_playable(str(path)) == common._ffprobe_is_playable(str(path))
    assert processing_utils.audio_is_playable is common.audio_is_playable


def test_the_fast_playable_check_leaves_other_containers_to_ffprobe(tmp_path):
    from components import common

    path = tmp_path / "clip.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "aac", str(path)],
                   check=True)  # fmt: skip
    assert common.audio_is_playable(str(path)) is True
    (tmp_path / "junk.wav").write_bytes(b"not audio")
    assert common.audio_is_playable(str(tmp_path / "junk.wav")) == common._ffprobe_is_playable(
        str(tmp_path / "junk.wav")
    )
