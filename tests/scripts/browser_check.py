"""Open ``inc report`` pages in headless Chromium: no console errors, every chart drawn, a screenshot each.

    python tests/scripts/browser_check.py OUT_DIR REPORT.html...

Needs Debian's ``chromium`` and ``chromium-driver`` packages and ``selenium`` (the nox
``report_browser`` session installs it). Writes ``OUT_DIR/<n>-<run name>.png`` (the full
page) and exits non-zero naming the page and what is wrong.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

IMAGES_DRAWN = "return Array.from(document.images).map(i => [i.alt, i.complete && i.naturalWidth > 0, i.naturalWidth]);"


def _driver() -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if binary is None or driver_path is None:
        raise SystemExit("browser_check: needs chromium and chromedriver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=options)


def check(driver: object, page: Path, screenshot: Path) -> list[str]:
    """Problems with one page (empty when it is fine); saves a full-page screenshot."""
    driver.get(page.resolve().as_uri())  # type: ignore[attr-defined]
    problems = []
    for entry in driver.get_log("browser"):  # type: ignore[attr-defined]
        if entry["level"] in ("SEVERE", "WARNING"):
            problems.append(f"console {entry['level']}: {entry['message']}")
    images = driver.execute_script(IMAGES_DRAWN)  # type: ignore[attr-defined]
    if not images:
        problems.append("no charts on the page")
    problems += [f"chart {alt!r} not drawn" for alt, drawn, _ in images if not drawn]
    height = driver.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    driver.set_window_size(1200, min(int(height) + 40, 12000))  # type: ignore[attr-defined]
    driver.save_screenshot(str(screenshot))  # type: ignore[attr-defined]
    if not screenshot.is_file() or screenshot.stat().st_size < 10_000:
        problems.append("the screenshot is empty")
    print(f"{page}: {len(images)} charts drawn, screenshot {screenshot}")
    return [f"{page}: {p}" for p in problems]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    driver = _driver()
    try:
        problems = []
        for number, page in enumerate(map(Path, argv[1:]), start=1):
            problems += check(driver, page, out / f"{number}-{page.parent.parent.name}.png")
    finally:
        driver.quit()  # type: ignore[attr-defined]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
