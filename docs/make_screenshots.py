"""The screenshots in docs/, as Chromium draws the page mid-race (run from the repository root):

    python docs/make_screenshots.py

A fresh server (uvicorn, default settings); Debian's headless Chromium at a desktop (1440x900),
a projector (1280x720) and a phone (390x844), in English and Korean (install a CJK font, e.g.
Debian's fonts-noto-cjk, or the Korean shows as boxes); the Present dialog and a phone watching
the room; a class vote on a phone, revealed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))
from conftest import CHROMIUM, CHROMIUM_ARGS, start_live_server  # noqa: E402

READY = "() => window.__dp && document.querySelector('#surface-plot .main-svg')"
SIZES = {"": (1440, 900), "-1280x720": (1280, 720), "-phone": (390, 844)}
LINKS = {"en": "/?lang=en&epochs=40", "ko": "/?lang=ko&dataset=circles&hidden=8&epochs=200"}


def shoot(browser, url: str, path: Path, size: tuple[int, int], lang: str) -> None:
    phone = size[0] < 500
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  locale="ko-KR" if lang == "ko" else "en-US",
                                  is_mobile=phone, has_touch=phone)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(READY, timeout=30_000)
    page.click("#btn-start")
    page.wait_for_timeout(7000)
    page.screenshot(path=path, full_page=phone)
    context.close()


def presenting(browser, base: str, shot: str | None = None):
    """A teacher's page at 1440x900 that pressed Present (its dialog shot to `shot`, if given),
    the dialog closed again; and the viewers' link."""
    teacher = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    teacher.goto(base + LINKS["en"])
    teacher.wait_for_function(READY, timeout=30_000)
    teacher.click("#btn-present")
    teacher.wait_for_function("() => document.getElementById('dlg-url').value !== ''")
    if shot:
        teacher.wait_for_timeout(500)
        teacher.screenshot(path=DOCS / shot)
    viewer_url = teacher.input_value("#dlg-url")
    teacher.keyboard.press("Escape")
    return teacher, viewer_url


def present(browser, base: str) -> None:
    teacher, viewer_url = presenting(browser, base, "screenshot-present.png")
    teacher.click("#btn-start")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="ko-KR",
                                is_mobile=True, has_touch=True).new_page()
    phone.goto(viewer_url)
    phone.wait_for_function(READY, timeout=30_000)
    phone.wait_for_timeout(5000)
    phone.screenshot(path=DOCS / "screenshot-viewer-phone.png", full_page=True)
    teacher.context.close()
    phone.context.close()


def vote(browser, base: str) -> None:
    """The teacher asks, a phone votes, the teacher reveals: the phone shows the tally."""
    teacher, viewer_url = presenting(browser, base)
    phones = [browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, locale="en-US").new_page() for _ in range(3)]
    for phone in phones:
        phone.goto(viewer_url)
        phone.wait_for_function(READY, timeout=30_000)
    teacher.click("#btn-ask")
    teacher.fill("#ask-prompt", "Which run's loss curve will be the noisiest?")
    for i, choice in enumerate(["SGD (batch 1)", "Mini-batch (32)", "Full batch", "All alike"]):
        teacher.fill(f"#ask-form fieldset label:nth-of-type({i + 1}) input", choice)
    teacher.click("#ask-form button[type=submit]")
    for phone, choice in zip(phones, (0, 0, 1), strict=True):
        phone.wait_for_selector("#vote:not([hidden])")
        phone.locator("#vote-choices button").nth(choice).tap()
        phone.wait_for_selector("#vote-choices button[aria-pressed=true]")
    teacher.wait_for_function("() => document.getElementById('vote-voters').textContent"
                              " === '3 voted'")
    teacher.click("#vote-reveal")
    phones[0].wait_for_selector("#vote-choices .bar b")
    phones[0].screenshot(path=DOCS / "screenshot-vote-phone.png")
    for page in (teacher, *phones):
        page.context.close()


def main() -> None:
    with start_live_server(name="screenshots") as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        for lang, link in LINKS.items():
            for suffix, size in SIZES.items():
                name = f"screenshot{'-ko' if lang == 'ko' else ''}{suffix}.png"
                shoot(browser, base + link, DOCS / name, size, lang)
                print(name)
        present(browser, base)
        vote(browser, base)
        browser.close()


if __name__ == "__main__":
    main()
