"""The HTML report in a real headless Chromium (Debian `chromium` + `chromium-driver`), driven by selenium."""
from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import pytest

from tests.test_report import EVIL_CITATION, EVIL_TITLE, report_build  # noqa: F401  (module fixture)

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() or not Path(DRIVER).exists(),
                       reason="needs Debian packages chromium and chromium-driver "
                              "(apt-get install -y chromium chromium-driver)"),
]


def png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """(width, height, distinct RGB(A) pixels sampled) of an 8-bit non-interlaced PNG, with the stdlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = int.from_bytes(body[:4], "big"), int.from_bytes(body[4:8], "big"), body[8], body[9]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    assert depth == 8 and ctype in (2, 6)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    colours: set[bytes] = set()
    i = 0
    for _ in range(height):  # undo PNG filters (RFC 2083 §6)
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        prev = line
        colours.update(bytes(line[x:x + 3]) for x in range(0, stride, bpp * 7))
    return width, height, colours


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
              f"--user-data-dir={tmp_path_factory.mktemp('chrome')}", "--window-size=1280,2000"):
        opts.add_argument(a)
    d = webdriver.Chrome(options=opts, service=Service(DRIVER))
    yield d
    d.quit()


def test_report_renders_in_chromium_and_injected_markup_stays_text(report_build, driver, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    page = report_build / "reports" / "provenance.html"
    driver.get(page.as_uri())
    assert driver.title == "Provenance report: lic"
    tables = driver.find_elements(By.TAG_NAME, "table")
    assert len(tables) >= 8
    classes = {t.get_attribute("class") for t in tables}
    assert {"totals", "composition", "licences", "funnel", "attribution", "warnings", "removed"} <= classes
    assert driver.find_elements(By.TAG_NAME, "script") == []  # nothing injected became a script
    assert driver.find_elements(By.TAG_NAME, "img") == []
    removed = driver.find_element(By.CSS_SELECTOR, "table.removed")
    assert EVIL_TITLE in removed.text  # shown, as text
    assert EVIL_CITATION in driver.find_element(By.CSS_SELECTOR, "table.attribution").text
    # every section is linked from the table of contents, and each link leads to its heading (review: no links)
    links = driver.find_elements(By.CSS_SELECTOR, "nav.toc a")
    assert len(links) == 11
    for a in links:
        target = a.get_attribute("href").rsplit("#", 1)[1]
        assert driver.execute_script("return document.getElementById(arguments[0]).tagName", target) == "H2"
    links[-1].click()
    assert driver.execute_script("return window.scrollY") > 500 and driver.current_url.endswith("#reconciliation")
    # no alert was raised: with one open, any command would fail with UnexpectedAlertPresentException
    assert driver.execute_script("return document.readyState") == "complete"
    svgs = driver.find_elements(By.TAG_NAME, "svg")
    assert len(svgs) >= 5 and all(s.size["width"] > 100 and s.size["height"] > 10 for s in svgs)
    rects = driver.find_elements(By.CSS_SELECTOR, "svg rect")
    assert len(rects) > 10
    png = driver.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(png)
    assert len(png) > 20_000
    width, height, colours = png_pixels(png)
    assert width >= 1000 and height >= 500
    assert len(colours) > 20  # text, tables and coloured bars; a blank or single-colour page has ~1


def test_chromium_cli_screenshot(report_build, tmp_path):  # noqa: F811
    """The command the CI script runs: a full-page screenshot with the chromium binary alone."""
    import subprocess

    shot = tmp_path / "shot.png"
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'ud'}",
           f"--screenshot={shot}", "--window-size=1280,2000", (report_build / "reports" / "provenance.html").as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=True)
    data = shot.read_bytes()
    assert len(data) > 20_000
    w, h, colours = png_pixels(data)
    assert (w, h) == (1280, 2000) and len(colours) > 20


def test_warnings_show_their_code_spans_as_code(driver, tmp_path):
    """Review (new user): warnings written with Markdown code spans (`license_policy`) showed literal backticks in the
    HTML report. A real build whose ledger warns (a recipe of two languages with nothing to tell them apart), its
    report opened in Chromium."""
    from selenium.webdriver.common.by import By

    from lucie_data.cli import main

    root = Path(__file__).resolve().parent.parent
    lines = [*(root / "data/demo/fr_eltec_novels.jsonl").read_text(encoding="utf-8").splitlines()[:2],
             *(root / "data/demo/en_ud_pud.jsonl").read_text(encoding="utf-8").splitlines()[:2]]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "s.yaml").write_text("name: s\ncategory: web\nlicense: CC-BY-SA-3.0\nlanguages: [fr, en]\n"
                                     "input: {type: jsonl, paths: [in.jsonl]}\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("name: p\nsources: [s.yaml]\noutput_dir: out\n"
                                     "executor: {type: local, workers: 1, tasks: 1}\n", encoding="utf-8")
    assert main(["build", str(tmp_path / "p.yaml")]) == 0
    main(["report", str(tmp_path / "out")])
    driver.get((tmp_path / "out/reports/provenance.html").as_uri())
    warns = driver.find_element(By.CSS_SELECTOR, "table.warnings")
    codes = [c.text for c in warns.find_elements(By.TAG_NAME, "code")]
    assert "und" in codes and "input.language_field" in codes, codes
    assert "`" not in warns.text
