"""Every endpoint that takes audio, fed every hostile file: a result or a clear message, in bounded memory."""

from __future__ import annotations

import pytest
from gradio_client import handle_file

from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import models as w2v_models
from tests.fixtures import hostile, hostile_sweep, memory
from tests.fixtures import wav2vec2_tiny as tiny

MB_BOUND = 100  # peak resident memory a call may add (the hardening issue's bound)
HANG_S = 10  # a call slower than this is stuck (the time per call is reported by python -m bench.hostile)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """``local:tiny-en`` available to the in-process server for this module."""
    folder = tmp_path_factory.mktemp("models")
    tiny.write_hf_folder(folder / "tiny-en", tiny.hf_model(11))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(w2v_models.ENV_MODEL_DIR, str(folder))
        w2v._MEMO.clear()
        yield
    w2v._MEMO.clear()


@pytest.fixture(scope="module")
def head_file(app_url):
    """A head trained on the built-in set through the API, for ``/classify``."""
    from gradio_client import Client

    from bench.hostile import trained_head

    return trained_head(Client(app_url, verbose=False))


@pytest.fixture(scope="module")
def table(head_file):
    return hostile_sweep.calls(head_file)


@pytest.mark.skipif(not memory.available(), reason="needs Linux /proc/self/clear_refs")
@pytest.mark.parametrize("call", list(hostile_sweep.calls("head.pt")))
def test_every_hostile_file_gets_a_result_or_a_clear_message_in_bounded_memory(client, corpus, tiny_model, table,
                                                                               call):  # fmt: skip
    one = {call: table[call]}
    hostile_sweep.sweep(client, {"pcm24.wav": corpus["pcm24.wav"]}, one)  # lazy imports and caches: not the input's
    outcomes = hostile_sweep.sweep(client, corpus, one)
    for o in outcomes:
        path = corpus[o.file][0]
        assert hostile_sweep.clean(o.message, path.parent), (call, o.file, o.message)
        assert o.seconds < HANG_S, (call, o.file, o.seconds)
        assert o.megabytes <= MB_BOUND, (call, o.file, f"+{o.megabytes:.0f} MiB")
        if hostile.EXPECTED[o.file] == hostile.ERROR and call != "/info":  # 0 frames or 1 Hz are facts for info
            assert not o.ok, (call, o.file)
    assert sum(o.ok for o in outcomes) >= 10, {o.file: o.message for o in outcomes}
    assert client.predict(handle_file(str(corpus["pcm24.wav"][0])), api_name="/info")["num_frames"] == 16_000
