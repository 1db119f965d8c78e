"""Server-level safety: file serving, load beyond the queue, recovery afterwards."""

from __future__ import annotations

import concurrent.futures as cf
import urllib.error
import urllib.request

import pytest
import soundfile as sf
from gradio_client import Client, handle_file


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # loopback only: our own app
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../../../../etc/passwd", "..%2F..%2F..%2Fetc%2Fpasswd", "/proc/self/environ",
     "app.py", "audiolab/limits.py", "/root/.bash_history"],
)  # fmt: skip
def test_files_outside_gradios_cache_are_not_served(app_url, path):
    status, body = fetch(f"{app_url.rstrip('/')}/gradio_api/file={path}")
    assert status in (400, 403, 404), (status, body[:100])
    assert b"root:" not in body and b"MAX_FILE_BYTES" not in body and b"import" not in body


def test_thirty_parallel_clients_finish_or_are_told_the_queue_is_full(app_url, sine_wav):
    from components import scheduling

    client = Client(app_url, verbose=False, max_workers=30)
    jobs = [
        client.submit(handle_file(str(sine_wav)), 0, -1, "8000", "wav", "16", api_name="/load_audio") for _ in range(30)
    ]
    done, busy, other = 0, 0, []
    for job in cf.as_completed([j.future for j in jobs], timeout=240):
        try:
            exported = job.result()[5]
            info = sf.info(exported)
            assert (info.samplerate, info.frames) == (8000, 8000)
            done += 1
        except Exception as err:  # noqa: BLE001 - sorting outcomes
            if "queue is full" in str(err).lower():
                busy += 1
            else:
                other.append(repr(err))
    assert not other, other[:3]
    assert done >= scheduling.heavy_slots() and done + busy == 30
    meta = Client(app_url, verbose=False).predict(handle_file(str(sine_wav)), api_name="/info")
    assert meta["num_frames"] == 16_000  # answers right after the burst


def test_a_client_that_leaves_mid_request_does_not_stop_the_others(app_url, tmp_path):
    from tests import signals

    clip = signals.write(tmp_path / "long.wav", signals.chirp(100, 6000, 16_000, 20.0), 16_000)
    leaving = Client(app_url, verbose=False)
    args = ("linear", 1024, 1024, 256, 2.0, 200, 0.99, True, 0, 0, 80)
    job = leaving.submit(handle_file(str(clip)), *args, api_name="/griffin_lim")
    import time

    time.sleep(1.0)  # the request is running now
    job.cancel()
    leaving.close()
    other = Client(app_url, verbose=False)
    start = time.perf_counter()
    meta = other.predict(handle_file(str(clip)), api_name="/info")
    assert meta["num_frames"] == 320_000
    assert time.perf_counter() - start < 30
    time.sleep(8)  # let the abandoned run (~1 s of work) finish: torch aborts if the process exits mid-run


def test_heavy_work_shares_one_pool_and_light_requests_are_never_queued_behind_it(app_url, tmp_path):
    """Heavy requests on three tabs, more than the pool and its queue hold: at most ``heavy_slots()`` run
    at once, a waiting one is told its place, and light requests (metadata, parameter lists, model
    list, cache status, the augment schema) all answer while heavy ones are still waiting."""
    import threading
    import time

    import app
    from components import scheduling
    from tests import signals

    clip = handle_file(str(signals.write(tmp_path / "chirp.wav", signals.chirp(100, 6000, 16_000, 10.0), 16_000)))
    gl = ("linear", 1024, 1024, 256, 2.0, 128, 0.99, True, 0, 0, 80)
    heavy_client = Client(app_url, verbose=False, max_workers=40)
    heavy = [heavy_client.submit(clip, *gl, api_name="/griffin_lim") for _ in range(12)]
    heavy += [heavy_client.submit(clip, "mfcc", "{}", api_name="/features") for _ in range(6)]
    heavy += [heavy_client.submit(clip, 0, -1, "8000", "wav", "16", api_name="/load_audio") for _ in range(6)]

    def group():
        return app.demo._queue.event_queue_per_concurrency_id.get(scheduling.HEAVY)

    running, ranks, stop = [], [], threading.Event()

    def watch():
        while not stop.is_set():
            if group() is not None:
                running.append(group().current_concurrency)
            ranks.extend(job.status().rank for job in heavy if job.status().rank)
            stop.wait(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    until = time.monotonic() + 120
    while (group() is None or not group().queue) and time.monotonic() < until:  # until heavy requests wait
        stop.wait(0.01)
    assert group() is not None and group().queue, "no heavy request is waiting in a shared pool"
    light = Client(app_url, verbose=False)
    answers = [light.predict("mfcc", api_name="/feature_params")["defaults"]["n_mfcc"] for _ in range(5)]
    answers += [light.predict(clip, api_name="/info")["num_frames"] for _ in range(3)]
    answers.append(len(light.predict(api_name="/list_models")) > 0)
    answers.append(bool(light.predict(api_name="/augment_schema")))
    still_waiting = len(group().queue)
    light.predict(api_name="/cache_status")
    refused = []
    for job in cf.as_completed([j.future for j in heavy], timeout=300):
        try:
            job.result()
        except Exception as err:  # noqa: BLE001 - heavy ones beyond the queue may be refused
            refused.append(str(err))
    stop.set()
    watcher.join()
    assert answers == [40] * 5 + [160_000] * 3 + [True, True]
    assert still_waiting > 0  # the light answers did not wait for the heavy queue to drain
    assert max(running) == scheduling.heavy_slots()  # one pool for all three tabs, used to the full
    assert max(ranks) >= 1  # a waiting user sees their place in the queue
    assert all("queue is full" in message.lower() for message in refused), refused[:2]
