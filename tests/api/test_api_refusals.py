"""What the API says it takes is what it takes, and every refusal says why (no ``{"error": null}``)."""

from __future__ import annotations

import json

import httpx
import pytest
import soundfile as sf
from gradio_client import handle_file

from tests import signals

FILE_META = {"_type": "gradio.FileData"}


def call(app_url: str, api_name: str, data: list) -> tuple[str, object]:
    """``(event, data)`` of the last message of a raw ``/gradio_api/call`` request (no client-side checks)."""
    base = f"{app_url.rstrip('/')}/gradio_api/call/{api_name}"
    event_id = httpx.post(base, json={"data": data}, timeout=30).json()["event_id"]
    event, payload = "", None
    with httpx.stream("GET", f"{base}/{event_id}", timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                payload = json.loads(line.split(":", 1)[1])
    return event, payload


def test_the_schema_of_every_choice_has_the_type_of_its_values(client):
    """``/griffin_lim`` advertised ``n_fft`` as a string of an enum of numbers, and refused "1024"."""
    for name, endpoint in client.view_api(print_info=False, return_format="dict")["named_endpoints"].items():
        for param in endpoint["parameters"]:
            schema = param["type"]
            if "enum" in schema:
                kinds = {type(v).__name__ for v in schema["enum"]}
                assert kinds == {"str"} and schema["type"] == "string", (name, param["parameter_name"], schema)
    n_fft = next(p for p in client.view_api(print_info=False, return_format="dict")["named_endpoints"]["/griffin_lim"]
                 ["parameters"] if p["parameter_name"] == "n_fft")  # fmt: skip
    assert n_fft["type"] == {"type": "integer"}


def test_griffin_lim_takes_n_fft_as_the_integer_its_schema_names(client, tmp_path):
    clip = signals.write(tmp_path / "chirp.wav", signals.chirp(200, 4000, 16_000, 0.5), 16_000)
    wav, _, metrics, *_ = client.predict(
        handle_file(str(clip)), "linear", 256, 256, 64, 2.0, 4, 0.99, True, 0, 0, 80, api_name="/griffin_lim"
    )
    assert sf.info(wav).frames == 8000 and len(metrics["convergence_db"]) == 5


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"path": "/etc/hostname", "meta": FILE_META}, "was not uploaded to this app"),
        ({"path": "http://127.0.0.1:9/x.wav", "url": "http://127.0.0.1:9/x.wav", "meta": FILE_META}, "public http"),
        ("/etc/hostname", "does not have the form"),
        ({"path": 7, "meta": FILE_META}, "does not have the form"),
    ],
)
def test_a_refused_file_input_carries_a_message(app_url, value, message):
    event, payload = call(app_url, "info", [value])
    assert event == "error"
    assert payload is not None and message in str(payload)


def test_a_refused_number_carries_a_message(app_url, tmp_path):
    clip = signals.write(tmp_path / "chirp.wav", signals.chirp(200, 4000, 16_000, 0.5), 16_000)
    with clip.open("rb") as f:
        uploaded = httpx.post(f"{app_url.rstrip('/')}/gradio_api/upload", files={"files": f}, timeout=30).json()[0]
    audio = {"path": uploaded, "meta": FILE_META}
    event, payload = call(app_url, "griffin_lim", [audio, "linear", "many", 256, 64, 2.0, 4, 0.99, True, 0, 0, 80])
    assert event == "error"
    assert payload is not None and "does not have the form" in str(payload)
