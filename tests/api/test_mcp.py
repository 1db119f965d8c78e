"""The app's MCP server through the official ``mcp`` Python SDK client (streamable HTTP), as an agent uses it."""

from __future__ import annotations

import io
import json

import httpx
import numpy as np
import pytest
import torch
import torchaudio
import torchaudio.functional as F
import torchaudio.transforms as T
from gradio import processing_utils
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from audiolab.features import compute as ft
from tests import loops, signals

SR = 16_000
TOOLS = {  # named endpoints that are tools (those that only serve the browser are not)
    "load_audio", "info", "features", "feature_params", "augment_audio", "augment_schema", "griffin_lim",
    "emissions", "transcribe", "align", "layer_features", "list_models", "builtin_set", "train_head", "classify",
    "builtin_clip", "compare_librosa",
}  # fmt: skip
HIDDEN = {"load_url", "cache_status"}


def call(url: str, work):
    """Run ``await work(session)`` in an initialised MCP client session to the app; returns its result."""

    async def main():
        async with (
            streamable_http_client(url + "gradio_api/mcp/") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return loops.run(main())


def texts(result) -> list[str]:
    """The text parts of a tool result."""
    return [c.text for c in result.content if c.type == "text"]


@pytest.fixture(scope="module")
def tools(app_url) -> dict:
    """``name -> Tool`` as the MCP server lists them."""

    async def work(session):
        return (await session.list_tools()).tools

    return {tool.name: tool for tool in call(app_url, work)}


@pytest.fixture
def clip_url(app_url, tmp_path, monkeypatch):
    """A 1 s stereo WAV (220 Hz left, 330 Hz right) uploaded to the app, as ``gradio upload-mcp`` does; its URL.

    Gradio fetches file URLs with an SSRF guard that refuses loopback hosts; a deployment's public
    host passes it. Here the test server's own address is allowed the same way (its host allow-list)."""
    monkeypatch.setattr(processing_utils, "PUBLIC_HOSTNAME_WHITELIST",
                        [*processing_utils.PUBLIC_HOSTNAME_WHITELIST, "127.0.0.1"])  # fmt: skip
    x = torch.cat([signals.sine(220, SR, 1.0), signals.sine(330, SR, 1.0, amp=0.2)])
    path = signals.write(tmp_path / "two_tones.wav", x, SR)
    with path.open("rb") as f:
        uploaded = httpx.post(app_url + "gradio_api/upload", files={"files": f}).json()[0]
    return f"{app_url}gradio_api/file={uploaded}", torchaudio.load(str(path))[0]  # the 16-bit samples


def test_every_tool_is_listed_with_a_description_of_each_parameter(tools):
    assert set(tools) >= TOOLS and not HIDDEN & set(tools)
    for name in TOOLS:
        tool = tools[name]
        assert len(tool.description) > 40, name
        for param, schema in tool.inputSchema["properties"].items():
            assert schema.get("description"), f"{name}.{param} has no description"
    features = tools["features"]
    assert features.inputSchema["required"] == ["audio"]  # feature and params have defaults
    assert "url" in features.inputSchema["properties"]["audio"]["format"]
    assert "mel_spectrogram" in features.inputSchema["properties"]["feature"]["description"]
    assert "upload_file_to_gradio" in features.description  # Gradio's hint for local files
    assert "Returns:" in features.description and "summary dict" in features.description
    gl = tools["griffin_lim"].inputSchema["properties"]
    assert "samples" in gl["hop_length"]["description"] and "0.99" in gl["momentum"]["description"]


def test_feature_params_answers_the_defaults_as_json(app_url):
    async def work(session):
        return await session.call_tool("feature_params", {"feature": "mfcc"})

    result = call(app_url, work)
    assert not result.isError
    answer = json.loads(texts(result)[0])
    assert answer == {"feature": "mfcc", "dims": ft.DIMS["mfcc"], "defaults": ft.default_params("mfcc")}


def test_info_of_an_uploaded_file_gives_its_numbers(app_url, clip_url):
    url, x = clip_url

    async def work(session):
        return await session.call_tool("info", {"audio": url})

    result = call(app_url, work)
    assert not result.isError, texts(result)
    meta = json.loads(texts(result)[0])
    assert (meta["sample_rate"], meta["num_frames"], meta["num_channels"]) == (SR, x.shape[1], 2)
    assert meta["duration_s"] == pytest.approx(1.0)


def test_features_returns_the_mel_spectrogram_of_torchaudio_and_its_summary(app_url, clip_url):
    url, x = clip_url
    params = {"n_fft": 512, "hop_length": 128, "n_mels": 64, "db": False}

    async def work(session):
        return await session.call_tool("features", {"audio": url, "feature": "mel_spectrogram",
                                                    "params": json.dumps(params)})  # fmt: skip

    result = call(app_url, work)
    assert not result.isError, texts(result)
    assert result.content[0].type == "image"  # the figure, inline
    parts = texts(result)
    summary = json.loads(parts[-1])
    npy_url = next(p for p in parts if p.split("?")[0].endswith(".npy"))
    got = np.load(io.BytesIO(httpx.get(npy_url).content))
    direct = T.MelSpectrogram(SR, n_fft=512, hop_length=128, n_mels=64)(x).numpy()
    assert got.shape == direct.shape == tuple(summary["shape"])
    np.testing.assert_allclose(got, direct, rtol=1e-4, atol=1e-4 * float(direct.max()))
    assert summary["max"] == pytest.approx(float(direct.max()), rel=1e-4)
    assert summary["mean"] == pytest.approx(float(direct.mean()), rel=1e-3)
    assert "torchaudio.transforms.MelSpectrogram" in parts[-2] or "MelSpectrogram" in parts[-2]


def test_pitch_through_mcp_equals_torchaudio_per_channel(app_url, clip_url):
    url, x = clip_url

    async def work(session):
        return await session.call_tool("features", {"audio": url, "feature": "pitch_detect", "params": "{}"})

    summary = json.loads(texts(call(app_url, work))[-1])
    direct = F.detect_pitch_frequency(x, SR).median(dim=-1).values.tolist()
    assert summary["median_f0_hz"] == pytest.approx(direct, abs=1e-3)
    assert summary["median_f0_hz"] == [pytest.approx(220, rel=0.02), pytest.approx(330, rel=0.02)]


def test_a_bad_argument_comes_back_as_a_tool_error_with_the_message(app_url):
    async def work(session):
        return await session.call_tool("feature_params", {"feature": "chroma"})

    result = call(app_url, work)
    assert result.isError and "chroma" in " ".join(texts(result))
