"""`dalpsr-app` in a real browser: Playwright driving Debian's chromium (never a downloaded one).

Upload an LR, Analyse, edit the caption, Super-resolve, download the PNG (4x the LR); on
the Dataset tab filter "blur bin 3" and check every shown sample's deg.json and the count
against the shards read independently; bad uploads show a message and the next upload
works; the page asks nothing of any other machine. Screenshots of both tabs are written to
$DALPSR_APP_SCREENSHOTS (default: the test's temporary folder).
A local run without chromium skips and says why; in CI (``CI`` set) it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from dalpsr_data import schema
from tests.app.conftest import MAX_PIXELS
from tests.sr.conftest import smooth_image

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 120_000


def _chromium() -> str:
    path = shutil.which("chromium") or (CHROMIUM if os.path.exists(CHROMIUM) else "")
    if not path:
        if os.environ.get("CI"):
            pytest.fail("CI: no chromium installed (.ci/run installs Debian's `chromium` package)")
        print("skipping: no chromium installed (apt-get install chromium)")
        pytest.skip("no chromium installed (apt-get install chromium); CI never skips this")
    return path


@pytest.fixture(scope="module")
def page(app_server):
    sync_api = pytest.importorskip("playwright.sync_api")  # the `test` extra installs it
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), headless=True)
        pg = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        pg.set_default_timeout(TIMEOUT_MS)
        pg.elsewhere = []  # requests to anything but the app's own server
        pg.on("request", lambda r: None if r.url.startswith(app_server.url) or r.url.startswith("data:")
              else pg.elsewhere.append(r.url))
        pg.goto(app_server.url)
        yield pg
        browser.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DALPSR_APP_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _clear(pg) -> None:
    """Empty the file box when it holds a file (its input exists only while it is empty)."""
    clear = pg.locator("#lr-file button[aria-label='Clear']")
    if clear.count():
        clear.click()


def _upload(pg, path: Path) -> None:
    """As a visitor does: clear the file box, then pick ``path``."""
    _clear(pg)
    pg.locator("#lr-file input[type=file]").set_input_files(str(path))


def _toast(pg, words: str) -> None:
    toast = pg.locator("[data-testid='toast-body']").filter(has_text=words)
    toast.first.wait_for()
    pg.locator("[data-testid='toast-body'] .toast-close").first.click()  # the next message starts clean


def test_bad_uploads_show_a_message_and_the_next_upload_works(page, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not pixels\n")
    big = tmp_path / "big.png"
    Image.fromarray(smooth_image(1, 256, 256)).save(big)
    assert 256 * 256 > MAX_PIXELS
    _upload(page, text)
    _toast(page, "is not an image")
    _upload(page, big)
    _toast(page, "--max-pixels")
    good = tmp_path / "fine.png"
    Image.fromarray(smooth_image(2, 36, 28)).save(good)
    _upload(page, good)
    page.locator("#lr-info").filter(has_text="fine.png: 36 x 28 px").wait_for()


def test_analyse_edit_super_resolve_download(page, tmp_path):
    from playwright.sync_api import expect

    _clear(page)
    page.get_by_role("button", name="chelsea_lr.png").click()    # an embedded sample photo, degraded
    page.locator("#lr-info").filter(has_text="chelsea_lr.png: 128 x 128 px").wait_for()
    page.fill("#steps input", "2")
    page.click("#analyse")
    caption = page.locator("#caption textarea")
    expect(caption).not_to_have_value("", timeout=TIMEOUT_MS)
    expect(page.locator("#restoration textarea")).to_have_value(
        re.compile("^Deblur with sigma"))
    caption.fill("a cat with striped fur lying on a rug, edited")
    page.click("#super-resolve")
    page.locator("#slider img").first.wait_for()
    with page.expect_download() as info:
        page.click("#download-png")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name == "chelsea_lr_x4.png"
    assert Image.open(saved).size == (512, 512)                         # 4x the LR
    page.screenshot(path=str(_shots(tmp_path) / "app-superres.png"), full_page=True)
    assert page.elsewhere == [], "the page must not reach any other machine"


def _independent_bins(builds: list[Path]) -> dict[str, dict[str, int]]:
    """key -> deg.json bins of every sample listed in index.json, read straight from the tars."""
    out = {}
    for root in builds:
        index = json.loads((root / schema.INDEX_JSON).read_text())
        for entry in index["shardlist"]:
            for key, members in schema.iter_tar_samples(root / entry["url"]):
                out[key] = json.loads(members["deg.json"])["bins"]
    return out


def test_dataset_tab_filters_by_bin_and_counts_match_the_shards(page, app_builds, tmp_path):
    page.get_by_role("tab", name="Dataset").click()
    page.locator("#ds-gallery img").first.wait_for()
    truth = _independent_bins(app_builds)
    page.locator("#ds-count").filter(has_text=f"{len(truth)} of {len(truth)} samples").wait_for()
    page.click("#ds-blur input")
    page.locator("li[role=option][aria-label='3']").click()
    want = sorted(k for k, b in truth.items() if b["blur"] == 3)
    assert want, "the test builds must hold samples of blur bin 3"
    page.locator("#ds-count").filter(has_text=f"{len(want)} of {len(truth)} samples").wait_for()
    labels = page.locator("#ds-gallery .caption-label")
    labels.first.wait_for()
    shown = labels.all_inner_texts()
    assert shown and all(truth[k]["blur"] == 3 for k in shown), shown
    assert set(shown) <= set(want) and len(shown) == min(len(want), 8)   # --page-size 8
    page.locator("#ds-gallery .thumbnail-item").first.click()
    page.locator("#ds-title").filter(has_text=shown[0]).wait_for()
    page.locator("#ds-hr img").wait_for()
    page.screenshot(path=str(_shots(tmp_path) / "app-dataset.png"), full_page=True)
    assert page.elsewhere == []
