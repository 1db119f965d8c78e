"""Issue #19, point 5: walked in zh-CN, no tab shows untranslated English UI text.

Allowed in Chinese text: names that are not translated anywhere (torchaudio, wav2vec2, MFCC, ...),
identifiers a user types or picks as they are (parameter names, option values, file names) and
numbers with units. What Gradio draws itself and does not translate (aria-labels of its buttons)
is not ours to translate and is not checked."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

TABS = [("音频", "#audio-input"), ("特征", "#features-input"), ("增强", "#aug-input"),
        ("Griffin-Lim 重建", "#gl-input"), ("wav2vec2", "#wav2vec2-input"), ("训练", "#train-try-audio")]  # fmt: skip
NAMES = {
    "torchaudio", "TorchAudio", "Lab", "wav2vec2", "Griffin", "Lim", "MFCC", "LFCC", "CMN", "STFT", "JSON", "NCCF",
    "ITU", "BS", "SpecAugment", "HuBERT", "CTC", "Hugging", "Face", "Hub", "SGD", "Transformer", "WAV", "Hz", "kHz",
    "dB", "ms", "autograd", "Adam", "PyTorch", "Python", "RIR", "SNR", "URL", "http", "https",
}  # fmt: skip
VISIBLE_TEXT = r"""() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, text = node.textContent.trim(), el = node.parentElement;
    if (!text || !el || el.closest('code, pre, .cm-editor, textarea, input, .json-holder, footer')) continue;
    const box = el.getBoundingClientRect(), style = getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') continue;
    if (el.offsetParent === null && style.position !== 'fixed') continue;
    out.push(text);
  }
  return out;
}"""


def _identifiers() -> set[str]:
    """Words that are identifiers in this app: option values (what the API takes) and parameter names."""
    import app

    words: set[str] = set()
    for block in app.demo.blocks.values():
        for choice in getattr(block, "choices", None) or []:
            value = choice[1] if isinstance(choice, (tuple, list)) else choice
            words |= set(re.findall(r"[A-Za-z]+", str(value)))
    return words


def untranslated(texts: list[str], allowed: set[str]) -> list[str]:
    """The texts with no Chinese in them that hold an English word (3+ letters) that is not a name, an
    identifier or part of a code token (a translated text may name things in English: "n_fft（FFT 点数）")."""
    bad = []
    for text in texts:
        if re.search(r"[\u4e00-\u9fff]", text):
            continue
        plain = re.sub(r"[\w.\-]*[_.\d][\w.\-]*|\S+\.(wav|flac|mp3|ogg|pt|npy|zip)\b", " ", text)  # code-like tokens
        words = [w for w in re.findall(r"[A-Za-z]{3,}", plain) if w not in allowed and w not in NAMES]
        if words:
            bad.append(text)
    return sorted(set(bad))


@pytest.fixture
def zh_page(browser, app_url):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(app_url)
    page.wait_for_selector("#audio-input")
    expect(page.locator("#audio-metadata")).to_contain_text("字段")  # the page-load translations arrived
    yield page
    context.close()


def test_every_tab_in_zh_cn_shows_no_untranslated_english(zh_page):
    allowed = _identifiers()
    found = {}
    for name, anchor in TABS:
        zh_page.get_by_role("tab", name=name, exact=True).first.click()
        expect(zh_page.locator(anchor)).to_be_visible()
        bad = untranslated(zh_page.evaluate(VISIBLE_TEXT), allowed)
        if bad:
            found[name] = bad
    assert not found, "\n".join(f"[{tab}] {text!r}" for tab, texts in found.items() for text in texts)


def test_the_checker_flags_english_and_passes_identifiers():
    assert untranslated(["Compute", "计算", "Reset to defaults"], set()) == ["Compute", "Reset to defaults"]
    assert untranslated(["n_fft（FFT 点数）", "speech_en.wav", "wav", "0:01"], {"wav"}) == []
