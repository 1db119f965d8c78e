"""Figures of the wav2vec2 view: emissions, alignment on the waveform, layer features.

Token and word labels need real tick labels, so these use matplotlib's object API (no
pyplot; thread-safe) rendered with :func:`audiolab.plots.figure_to_rgb`; the layer heatmap
uses the fast :func:`audiolab.plots.heatmap_image`. Axes are placed at fixed figure
fractions so a click on the image maps back to a time (:func:`click_time`).
"""

from __future__ import annotations

import textwrap
import warnings
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch

from audiolab.core import figdata, labels, limits, plots
from audiolab.wav2vec2.compute import Emissions, LayerFeatures, Span

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH_IN, DPI = 10.0, 100
LEFT, RIGHT = 0.08, 0.9  # axes span in figure fractions (x)
MAX_COLUMNS = 2000
LABELS_PER_WIDTH = 110  # token labels that fit side by side on the time axis (7 px each)
# Without a CJK font (Debian: fonts-noto-cjk) Chinese tokens draw as boxes; say it once, not per glyph.
warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Zen Hei", "Droid Sans Fallback", "AR PL UMing CN")


@lru_cache(maxsize=1)
def font_family() -> list[str]:
    """DejaVu Sans plus an installed CJK font (if any) as fallback for Chinese tokens."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *[f for f in CJK_FONTS if f in installed]]


def _figure(height_in: float) -> Figure:
    fig = plots.new_figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    fig.patch.set_facecolor("white")
    return fig


def _pool_columns(data: np.ndarray) -> np.ndarray:
    """At most ``MAX_COLUMNS`` time columns, keeping each group's maximum (peaks stay visible)."""
    if data.shape[-1] <= MAX_COLUMNS:
        return data
    edges = np.linspace(0, data.shape[-1], MAX_COLUMNS + 1).astype(np.int64)
    return np.maximum.reduceat(data, edges[:-1], axis=-1)


def shown_tokens(em: Emissions) -> list[int]:
    """Token ids drawn as rows: all of them, or for big vocabularies the blank, the recognised
    ones and the most likely others (``limits.W2V_HEATMAP_MAX_TOKENS`` in all), in id order."""
    count = len(em.labels)
    if count <= limits.W2V_HEATMAP_MAX_TOKENS:
        return list(range(count))
    rows = {em.blank, *em.log_probs.argmax(-1).unique().tolist()}
    for token in em.log_probs.max(0).values.argsort(descending=True).tolist():
        if len(rows) >= limits.W2V_HEATMAP_MAX_TOKENS:
            break
        rows.add(token)
    return sorted(rows)[: limits.W2V_HEATMAP_MAX_TOKENS]


def emission_image(em: Emissions, spans: list[Span], text: str) -> np.ndarray:
    """Heatmap of ``emission[0].T`` (tokens x time, log-probability) with token boundaries and
    the greedy transcript under it."""
    rows = shown_tokens(em)
    data = _pool_columns(em.log_probs[:, rows].T.numpy())
    lines = textwrap.wrap(text or "(nothing recognised)", 120)[:4]
    height = 1.6 + 0.17 * len(rows) + 0.22 * len(lines)
    fig = _figure(height)
    bottom = (0.55 + 0.22 * len(lines)) / height
    ax = fig.add_axes((LEFT, bottom, RIGHT - 0.03 - LEFT, 1 - bottom - 0.55 / height))
    vmin = max(float(data.min()), -20.0)
    image = ax.imshow(data, aspect="auto", interpolation="nearest", cmap="magma", vmin=vmin, vmax=0.0,
                      extent=(0.0, em.duration_s, len(rows) - 0.5, -0.5))  # fmt: skip
    ax.set_yticks(range(len(rows)), [em.labels[r] for r in rows], fontsize=7 if len(rows) > 30 else 8,
                  family=font_family())  # fmt: skip
    ax.set_ylabel("Token (label)")
    ax.set_xlabel("Time (s)")
    _boundaries(ax, spans)
    shown = "" if len(rows) == len(em.labels) else f" ({len(rows)} of {len(em.labels)} tokens shown)"
    ax.set_title(f"Emission (log-probability per frame), {em.model}{shown}", fontsize=10, pad=18)
    cax = fig.add_axes((RIGHT - 0.015, bottom, 0.015, 1 - bottom - 0.55 / height))
    fig.colorbar(image, cax=cax).set_label("log-probability" + (" (clipped at -20)" if vmin == -20.0 else ""))
    fig.text(LEFT, 0.08 / height, "\n".join(lines), fontsize=10, family=font_family(), va="bottom")
    rgb = plots.figure_to_rgb(fig)
    value = labels.label("log-probability")
    tokens = [em.labels[r] for r in rows]
    time = (0.0, em.duration_s, 0.0, 1.0)
    table = figdata.grid(ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), value, data, extent=time, y=tokens)
    return figdata.attach(rgb, [table])


def _boundaries(ax, spans: list[Span]) -> None:
    """Token starts as thin lines with tick marks above the axes; token labels on a top axis
    when there are few enough (one line collection each: fast for thousands of tokens)."""
    starts = [s.start_s for s in spans]
    if len(spans) <= 4 * limits.W2V_MAX_BOUNDARY_LABELS:
        ax.vlines(starts, 0, 1, transform=ax.get_xaxis_transform(), colors="white", alpha=0.35, linewidth=0.6)
    ax.vlines(starts, 1.0, 1.025, transform=ax.get_xaxis_transform(), colors="black", linewidth=0.6, clip_on=False)
    if len(spans) <= limits.W2V_MAX_BOUNDARY_LABELS:
        shown = spaced_labels(spans, *ax.get_xlim())
        top = ax.secondary_xaxis("top")
        top.set_xticks([(s.start_s + s.end_s) / 2 for s in shown])
        top.set_xticklabels([s.text for s in shown], fontsize=7, family=font_family())
        top.tick_params(length=0, pad=6)


def spaced_labels(spans: list[Span], t0: float, t1: float, slots: int = LABELS_PER_WIDTH) -> list[Span]:
    """The spans whose labels fit side by side on a ``[t0, t1]`` s axis ``slots`` characters wide (each
    label one character wider than its text, centred on its span), taken left to right: no two overlap."""
    char_s = (t1 - t0) / slots
    shown, right = [], -np.inf
    for s in spans:
        half = (len(s.text) + 1) * char_s / 2
        centre = (s.start_s + s.end_s) / 2
        if centre - half >= right:
            shown.append(s)
            right = centre + half
    return shown


def alignment_image(waveform: torch.Tensor, sample_rate: int, words: list[Span]) -> tuple[np.ndarray, dict]:
    """Mono waveform with aligned words shaded and labelled, characters as ticks below.

    Returns the image and ``{"x0": px, "x1": px, "duration_s": s}``: where the time axis lies
    in the image, for :func:`click_time`.
    """
    signal = waveform.mean(0).numpy()
    duration = signal.shape[-1] / sample_rate
    edges = np.linspace(0, signal.shape[-1], min(MAX_COLUMNS, signal.shape[-1]) + 1).astype(np.int64)
    lo, hi = np.minimum.reduceat(signal, edges[:-1]), np.maximum.reduceat(signal, edges[:-1])
    fig = _figure(3.4)
    ax = fig.add_axes((LEFT, 0.2, RIGHT - LEFT, 0.62))
    t = edges[:-1] / sample_rate
    ax.fill_between(t, lo, hi, color="#1f77b4", linewidth=0.5)
    ax.set_xlim(0.0, duration)
    ax.set_ylim(-1.05, 1.05)
    for i, w in enumerate(words):
        ax.axvspan(w.start_s, w.end_s, color=("#ff7f0e" if i % 2 else "#2ca02c"), alpha=0.25, linewidth=0)
        if len(words) <= limits.W2V_MAX_BOUNDARY_LABELS:
            ax.text((w.start_s + w.end_s) / 2, 1.08, w.text, ha="center", va="bottom", fontsize=8,
                    rotation=0 if len(words) < 25 else 60, family=font_family(), clip_on=False)  # fmt: skip
    chars = [c for w in words for c in w.chars]
    if len(chars) <= 4 * limits.W2V_MAX_BOUNDARY_LABELS:
        ax.set_xticks([(c.start_s + c.end_s) / 2 for c in chars], minor=True)
        ax.tick_params(axis="x", which="minor", length=4, color="#555555")
    ax.set_xlabel("Time (s)   (click a word to play it)")
    ax.set_ylabel("Amplitude")
    ax.set_title("Forced alignment (torchaudio.functional.forced_align)", fontsize=10, pad=22)
    width = WIDTH_IN * DPI
    rgb = plots.figure_to_rgb(fig)
    names = [labels.label(n) for n in ("Word", "Start (s)", "End (s)", "Score")]
    table = figdata.records(ax.get_title(), names, [(w.text, w.start_s, w.end_s, w.score) for w in words])
    return figdata.attach(rgb, [table]), {"x0": LEFT * width, "x1": RIGHT * width, "duration_s": duration}


def click_time(x_pixel: float, geometry: dict) -> float:
    """The time (s) under pixel column ``x_pixel`` of an :func:`alignment_image`."""
    frac = (float(x_pixel) - geometry["x0"]) / (geometry["x1"] - geometry["x0"])
    return min(max(frac, 0.0), 1.0) * geometry["duration_s"]


def layer_image(lf: LayerFeatures) -> np.ndarray:
    """The chosen layer's features, dimension x time, colour range from the 1st to 99th percentile."""
    data = lf.features.T.numpy()
    lo, hi = np.percentile(data, [1, 99])
    return plots.heatmap_image(
        data, extent=(0.0, lf.duration_s, 0.0, float(data.shape[0])), vmin=float(lo), vmax=float(hi),
        title=f"{lf.model}: transformer layer {lf.layer} (extract_features)", ylabel="Feature dimension",
        colorbar_label="Activation", cmap="viridis",
    )  # fmt: skip


def layer_summary_image(lf: LayerFeatures) -> np.ndarray:
    """Layer-to-layer cosine similarity (mean over frames) and RMS value per layer."""
    from matplotlib.ticker import MaxNLocator

    layers = lf.rms.shape[0]
    fig = _figure(4.2)
    ax = fig.add_axes((0.07, 0.13, 0.36, 0.72))  # room above for the titles
    image = ax.imshow(lf.similarity.numpy(), origin="lower", cmap="viridis", vmin=-1, vmax=1,
                      extent=(0.5, layers + 0.5, 0.5, layers + 0.5))  # fmt: skip
    fig.colorbar(image, ax=ax, fraction=0.046).set_label("cosine similarity")
    ax.set_xlabel("Layer")
    ax.set_ylabel("Layer")
    ax.set_title("Similarity between layers (same frame)", fontsize=10)
    ax2 = fig.add_axes((0.58, 0.13, 0.38, 0.72))
    ax2.plot(range(1, layers + 1), lf.rms.numpy(), marker="o", markersize=3)
    ax2.plot([lf.layer], [float(lf.rms[lf.layer - 1])], marker="o", markersize=8, color="#d62728")
    ax2.set_xlabel("Layer")
    ax2.set_ylabel("RMS value")
    ax2.set_title("Energy per layer (chosen layer in red)", fontsize=10)
    ax2.grid(alpha=0.3)
    for axis in (ax.xaxis, ax.yaxis, ax2.xaxis):  # layers are whole numbers
        axis.set_major_locator(MaxNLocator(integer=True))
    return plots.figure_to_rgb(fig)
