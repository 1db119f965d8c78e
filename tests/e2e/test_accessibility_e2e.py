"""Issue #19, points 9 and 10 in a real browser: figures described and tabled, tabs by keyboard, readable
player labels, slider limits said out loud, fonts with every glyph, a quiet console."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests import signals

CJK = re.compile(r"[\u4e00-\u9fff]")
LONG_FLOAT = re.compile(r"\d\.\d{5,}")
TABS_EN = ["Audio", "Features", "Augment", "Griffin-Lim", "wav2vec2", "Train", "Batch"]


def new_page(browser, app_url, locale: str, messages: list | None = None):
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    if messages is not None:
        page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.goto(app_url)
    page.wait_for_selector("#audio-input")
    return page


@pytest.fixture
def zh_page(browser, app_url):
    page = new_page(browser, app_url, "zh-CN")
    expect(page.locator("#audio-metadata")).to_contain_text("字段")  # the page-load translations arrived
    yield page
    page.context.close()


def expect_described(page, elem_id: str, language: re.Pattern | None = None) -> None:
    """The figure ``#elem_id`` shows an image with a non-empty alt text (in ``language``'s script) and a
    visible data download."""
    image = page.locator(f"#{elem_id} img")
    expect(image).to_be_visible(timeout=60_000)
    expect(image).to_have_attribute("alt", language or re.compile(r"\S"))
    expect(page.locator(f"#{elem_id}-data")).to_be_visible()


def test_every_figure_has_a_chinese_description_and_a_data_table_on_a_chinese_page(zh_page, tmp_path):
    page = zh_page
    clip = signals.write(tmp_path / "sweep.wav", signals.chirp(200, 4000, 16_000, 1.5), 16_000)
    page.locator("#audio-input input[type=file]").set_input_files(str(clip))
    for elem_id in ("audio-waveform", "audio-spectrogram"):
        expect_described(page, elem_id, CJK)
    with page.expect_download() as download:
        page.locator("#audio-spectrogram-data").click()
    with open(download.value.path(), encoding="utf-8-sig") as f:
        assert f.readline().strip() == "时间（秒）,频率（Hz）,功率（dB）"

    page.get_by_role("tab", name="特征", exact=True).click()
    expect(page.locator("#features-input audio").first).to_be_attached()  # the Audio tab's result, followed
    page.locator("#features-run").click()
    expect_described(page, "features-figure", CJK)

    page.get_by_role("tab", name="Griffin-Lim 重建", exact=True).click()
    expect(page.locator("#gl-input audio").first).to_be_attached()  # the Audio tab's result, followed
    page.locator("#gl-run").click()
    for elem_id in ("gl-convergence", "gl-spectrograms"):
        expect_described(page, elem_id, CJK)

    page.get_by_role("tab", name="增强", exact=True).click()
    expect(page.locator("#aug-input audio").first).to_be_attached()  # the Audio tab's result, followed
    page.locator("#aug-add-time_stretch").click()
    page.locator("#aug-run").click()
    for elem_id in ("aug-before", "aug-after"):
        expect_described(page, elem_id, CJK)

    shown = page.evaluate("() => [...document.querySelectorAll('[data-testid=image] img, .image-container img')]"
                          ".filter(i => i.offsetParent !== null).map(i => i.alt)")  # fmt: skip
    assert shown and all(CJK.search(alt) for alt in shown), shown


def test_arrow_keys_home_and_end_move_between_tabs(page):
    tab = lambda name: page.get_by_role("tab", name=name, exact=True)  # noqa: E731
    tab("Audio").focus()
    page.keyboard.press("ArrowRight")
    expect(tab("Features")).to_have_attribute("aria-selected", "true")
    expect(tab("Features")).to_be_focused()
    expect(page.locator("#features-input")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(tab("Audio")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowLeft")  # wraps round to the last tab
    expect(tab(TABS_EN[-1])).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Home")
    expect(tab("Audio")).to_be_focused()
    page.keyboard.press("End")
    expect(tab(TABS_EN[-1])).to_be_focused()
    # only the selected tab is in the Tab order (WAI-ARIA tabs): Tab leaves the tab list
    expect(tab(TABS_EN[-1])).to_have_attribute("tabindex", "0")
    expect(tab("Audio")).to_have_attribute("tabindex", "-1")


@pytest.mark.parametrize(("locale", "back"), [("en-US", "Skip backwards by 0.24 seconds"), ("zh-CN", "后退 0.24 秒")])
def test_no_control_is_labelled_with_a_long_float(browser, app_url, locale, back):
    page = new_page(browser, app_url, locale)
    page.get_by_text("speech_en.wav").first.click()  # 4.82 s: Gradio's skip is 5 % of it, 0.2409094... s
    expect(page.locator("#audio-waveform img")).to_be_visible(timeout=60_000)
    expect(page.locator(f"#audio-result [aria-label='{back}']").first).to_be_attached()
    labels = page.evaluate(
        "() => [...document.querySelectorAll('[aria-label]')].map(e => e.getAttribute('aria-label'))"
    )
    assert not [label for label in labels if LONG_FLOAT.search(label)]
    page.context.close()


@pytest.mark.parametrize(
    ("locale", "tab", "note"),
    [("en-US", "Train", "100000 is above the maximum, 300: 300 is used."),
     ("zh-CN", "训练", "100000 超过最大值 300：已改用 300。")],
)  # fmt: skip
def test_a_number_typed_beyond_a_sliders_maximum_is_not_set_to_it_silently(browser, app_url, locale, tab, note):
    page = new_page(browser, app_url, locale)
    page.get_by_role("tab", name=tab, exact=True).click()
    box = page.locator("#train-epochs input[type=number]")
    expect(box).to_have_value("50")  # the tab is mounted: its first value set would overwrite what is typed
    box.fill("100000")
    box.blur()
    expect(box).to_have_value("300")  # Gradio sets it to the maximum ...
    expect(page.locator("#train-epochs [role=status]")).to_have_text(note)  # ... and the page now says so
    page.locator("#train-epochs input[type=range]").fill("50")
    expect(page.locator("#train-epochs [role=status]")).to_have_count(0)  # gone once the value changes
    page.context.close()


def test_bold_text_and_the_title_are_drawn_in_the_pages_font(page):
    # A face without the glyphs falls back letter by letter: the text is then nearly as wide as in the fallback
    # alone, and wider than the regular weight. Gradio's SemiBold Source Sans Pro holds only a few glyphs.
    widths = page.evaluate(
        """async () => {
          await document.fonts.ready;
          const ctx = document.createElement('canvas').getContext('2d');
          const width = (font) => { ctx.font = font; return ctx.measureText('TorchAudio Lab torchaudio').width; };
          const out = {};
          for (const weight of [400, 600, 700]) {
            await document.fonts.load(`${weight} 26px "Source Sans Pro"`, 'TorchAudio');
            out[weight] = [width(`${weight} 26px "Source Sans Pro", monospace`), width(`${weight} 26px monospace`)];
          }
          return out;
        }"""
    )
    regular = widths["400"][0]
    for weight, (with_font, fallback) in widths.items():  # Gradio's SemiBold: 369 px against 391 and 294
        assert abs(with_font - fallback) > 0.15 * fallback, f"weight {weight}: glyphs missing in the page font"
        assert with_font < 1.12 * regular, f"weight {weight}: drawn in a wider fallback font"
    h1, strong = (page.locator(sel).first.evaluate("e => getComputedStyle(e).fontWeight") for sel in ("h1", "strong"))
    assert {h1, strong} <= {"600", "700"}


def test_walking_the_tabs_and_analysing_a_clip_logs_no_method_not_implemented(browser, app_url):
    messages: list[str] = []
    page = new_page(browser, app_url, "en-US", messages)
    page.get_by_text("speech_en.wav").first.click()
    expect(page.locator("#audio-waveform img")).to_be_visible(timeout=60_000)
    for name in TABS_EN:
        page.get_by_role("tab", name=name, exact=True).click()
        expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute("aria-selected", "true")
    page.get_by_role("tab", name="Audio", exact=True).click()
    page.wait_for_timeout(500)
    assert not [m for m in messages if "Method not implemented" in m], messages
    page.context.close()
