"""Griffin-Lim tab: our loop (with its per-iteration convergence curve) vs ``T.GriffinLim``,
and the ``griffin_lim`` endpoint end to end."""

from __future__ import annotations

import librosa
import torchaudio.transforms as T
from gradio_client import handle_file

from audiolab.griffinlim import compute as R
from bench.common import Row, measure

N_FFT, HOP, N_ITER = 1024, 256, 32


def run(client, clips) -> list[Row]:
    """Rows for the 30 s clips (the 10 min clip is over the tab's 60 s limit)."""
    rows = []
    for name, (path, x, rate) in clips.items():
        if x.shape[-1] > 60 * rate:
            continue
        spec = T.Spectrogram(n_fft=N_FFT, hop_length=HOP, power=2.0)(x)
        gl = T.GriffinLim(n_fft=N_FFT, hop_length=HOP, n_iter=N_ITER, power=2.0, length=x.shape[-1])

        def ours(spec=spec, gl=gl, n=x.shape[-1]):
            R.griffinlim(spec, window=gl.window, n_fft=N_FFT, hop_length=HOP, win_length=N_FFT, power=2.0,
                         n_iter=N_ITER, momentum=0.99, length=n, rand_init=True)  # fmt: skip

        def rosa(spec=spec, n=x.shape[-1]):
            librosa.griffinlim(spec.numpy() ** 0.5, n_iter=N_ITER, hop_length=HOP, n_fft=N_FFT, length=n,
                               momentum=0.99, init="random", random_state=0)  # fmt: skip

        def api(path=path):
            client.predict(handle_file(str(path)), "linear", N_FFT, N_FFT, HOP, 2.0, N_ITER, 0.99, True, 0, 0, 80,
                           api_name="/griffin_lim")  # fmt: skip

        t_ref, _ = measure(lambda spec=spec, gl=gl: gl(spec), repeat=5)
        t_rosa, _ = measure(rosa, repeat=3)
        t_ours, m_ours = measure(ours, repeat=5)
        t_api, m_api = measure(api, repeat=3)
        refs = {"T.GriffinLim": t_ref, "librosa.griffinlim": t_rosa}
        rows.append(Row("griffin-lim", f"loop + convergence curve, 32 it, {name}", t_ours, m_ours, refs))
        rows.append(
            Row("griffin-lim", f"/griffin_lim via gradio_client, {name}", t_api, m_api, {"T.GriffinLim": t_ref})
        )
    return rows
