"""The page around the tabs: its fonts (theme) and the keyboard and screen-reader fixes Gradio lacks.

:func:`launch_kwargs` goes into ``launch()`` (``app.launch_kwargs``):

- ``theme``: Gradio's default theme with Source Sans Pro at weights 400 and 700. The default asks
  for 400 and 600, and Gradio's SemiBold file holds only a handful of glyphs, so bold text (the
  title, **bold** words) fell back, letter by letter, to another, larger font.
- ``js`` (run once when the page loads):
  - arrow keys move between tabs (ArrowLeft/ArrowRight, Home, End), as in the WAI-ARIA tabs
    pattern, and only the selected tab is in the Tab order;
  - the audio player's skip buttons are read as "Skip backwards by 0.24 seconds" (Gradio labels
    them with the unrounded ``duration * 5 / 100``: "0.24090940000000002");
  - a number typed into a slider's box beyond its range, which Gradio silently sets to the limit
    when the box loses focus, gets a line under the slider saying so.

Texts are registered here in English and Chinese and picked by the browser's language, like the
rest of the UI. The script only sets ``textContent`` and attributes: nothing is parsed as HTML.
"""

from __future__ import annotations

import json

import gradio as gr

from components.i18n import register, strings

register(
    {
        "page_skip_back": ("Skip backwards by {s} seconds", "后退 {s} 秒"),
        "page_skip_forward": ("Skip forward by {s} seconds", "前进 {s} 秒"),
        "page_above_max": ("{v} is above the maximum, {max}: {max} is used.", "{v} 超过最大值 {max}：已改用 {max}。"),
        "page_below_min": ("{v} is below the minimum, {min}: {min} is used.", "{v} 低于最小值 {min}：已改用 {min}。"),
    }
)

FONTS = (400, 700)  # Gradio ships full Source Sans Pro / IBM Plex Mono files for these weights

_SCRIPT = r"""
() => {
  const TEXTS = __TEXTS__;
  const zh = (navigator.language || "").toLowerCase().startsWith("zh");
  const say = (key, values) =>
    TEXTS[key][zh ? 1 : 0].replace(/\{(\w+)\}/g, (_, name) => String(values[name]));

  // Tabs: arrow keys, Home and End move to (and open) another tab; Tab leaves the tab list.
  const tabsOf = (tab) => [...tab.closest('[role="tablist"]').querySelectorAll('[role="tab"]')]
    .filter((t) => t.offsetParent !== null && t.getAttribute("aria-disabled") !== "true");
  document.addEventListener("keydown", (event) => {
    const tab = event.target instanceof Element ? event.target.closest('[role="tab"]') : null;
    if (!tab || !tab.closest('[role="tablist"]') || event.altKey || event.ctrlKey || event.metaKey) return;
    const tabs = tabsOf(tab), i = tabs.indexOf(tab);
    const next = { ArrowRight: tabs[(i + 1) % tabs.length], ArrowLeft: tabs[(i - 1 + tabs.length) % tabs.length],
                   Home: tabs[0], End: tabs[tabs.length - 1] }[event.key];
    if (!next || i < 0) return;
    event.preventDefault();
    next.click();
    next.focus();
  });
  const rove = () => {
    for (const list of document.querySelectorAll('[role="tablist"]')) {
      const tabs = [...list.querySelectorAll('[role="tab"]')];
      if (!tabs.some((t) => t.getAttribute("aria-selected") === "true")) continue;
      for (const t of tabs) {
        const index = t.getAttribute("aria-selected") === "true" ? "0" : "-1";
        if (t.getAttribute("tabindex") !== index) t.setAttribute("tabindex", index);
      }
    }
  };

  // The player's skip buttons: seconds rounded to hundredths, in the page's language.
  const SKIP = /^Skip (backwards|forward) by (-?[\d.]+(?:e[-+]?\d+)?) seconds$/;
  const relabel = () => {
    for (const el of document.querySelectorAll('[aria-label^="Skip "]')) {
      const m = SKIP.exec(el.getAttribute("aria-label"));
      if (!m) continue;
      const s = String(Math.round(Number(m[2]) * 100) / 100);
      const label = say(m[1] === "backwards" ? "page_skip_back" : "page_skip_forward", { s });
      if (el.getAttribute("aria-label") !== label) el.setAttribute("aria-label", label);
    }
  };

  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; rove(); relabel(); });
  }).observe(document.body, { subtree: true, childList: true, attributes: true,
                             attributeFilter: ["aria-selected", "aria-label"] });
  rove();
  relabel();

  // Sliders: a typed number beyond the range is set to the limit on blur; say so under the slider.
  const NOTE = "audiolab-range-note";
  const sliderBox = (el) => el instanceof HTMLInputElement && el.type === "number" &&
    el.closest(".block")?.querySelector('input[type="range"]') ? el : null;
  const show = (block, message) => {
    let note = block.querySelector(":scope > ." + NOTE);
    if (!message) { note?.remove(); return; }
    if (!note) {
      note = document.createElement("div");
      note.className = NOTE;
      note.setAttribute("role", "status");
      block.append(note);
    }
    note.textContent = message;
  };
  document.addEventListener("blur", (event) => {  // capture: before Gradio's own blur handler clamps
    const box = sliderBox(event.target);
    if (!box) return;
    const v = Number(box.value), min = Number(box.min), max = Number(box.max);
    const block = box.closest(".block");
    if (box.value === "" || !Number.isFinite(v)) return show(block, null);
    if (box.max !== "" && v > max) return show(block, say("page_above_max", { v: box.value, max: box.max }));
    if (box.min !== "" && v < min) return show(block, say("page_below_min", { v: box.value, min: box.min }));
    show(block, null);
  }, true);
  document.addEventListener("input", (event) => {  // the next change of that slider clears the note
    const block = event.target instanceof Element ? event.target.closest(".block") : null;
    if (block && block.querySelector(":scope > ." + NOTE) && event.target.type === "range") show(block, null);
  }, true);
}
"""

CSS = """
.audiolab-range-note { margin-top: 4px; font-size: var(--text-sm); color: var(--body-text-color-subdued); }
"""


def theme() -> gr.themes.Base:
    """Gradio's default theme with fonts at weights whose files hold the whole alphabet."""
    sans = gr.themes.LocalFont("Source Sans Pro", weights=FONTS)
    mono = gr.themes.LocalFont("IBM Plex Mono", weights=FONTS)
    return gr.themes.Default(
        font=[sans, "ui-sans-serif", "system-ui", "sans-serif"],
        font_mono=[mono, "ui-monospace", "Consolas", "monospace"],
    )


def script() -> str:
    """The page's script, with its texts (English, Chinese) filled in."""
    texts = {k: v for k, v in strings().items() if k.startswith("page_")}
    return _SCRIPT.replace("__TEXTS__", json.dumps(texts))


def launch_kwargs() -> dict:
    """``theme``, ``js`` and ``css`` for ``launch()``."""
    return {"theme": theme(), "js": script(), "css": CSS}
