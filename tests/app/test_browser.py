"""Real-browser tests: the app served by `streamlit run`, driven by Playwright and Debian chromium.

They run the demo preset, check that the charts render, make a mouse-drag box selection on the
embedding scatter, check the linked table and download it as CSV. Screenshots go to
docs/screenshots/. Skipped (with the reason) where playwright or /usr/bin/chromium is missing.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian chromium: apt-get install chromium"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_url():
    port = _free_port()
    env = dict(os.environ, HYPERNAS_APP_NO_UMAP_WARMUP="0")
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(ROOT / "app" / "main.py"),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not become healthy within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def page(server_url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        context = browser.new_context(
            viewport={"width": 1400, "height": 1100}, accept_downloads=True
        )
        page = context.new_page()
        page.goto(server_url)
        page.get_by_text("HyperNAS Explorer").first.wait_for(timeout=60_000)
        yield page
        browser.close()


def _goto(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.locator("h1", has_text=title).first.wait_for(timeout=60_000)


def _shot(page, name: str, focus=None) -> None:
    """Saves the viewport (the app scrolls inside it), scrolled to `focus` when given."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if focus is not None:
        focus.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)  # let plotly finish drawing
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_demo_runs_and_reports_rankings(page):
    page.get_by_role("button", name="Run the demo").click()
    start = time.perf_counter()
    page.get_by_text("Demo done").wait_for(timeout=600_000)
    seconds = time.perf_counter() - start
    print(f"demo preset wall time: {seconds:.1f} s")
    metric = page.get_by_text("Kendall τ (held out)")
    metric.wait_for(timeout=30_000)
    _shot(page, "overview_demo", focus=metric)


def test_rankings_charts_render(page):
    _goto(page, "Rankings")
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.locator('[data-testid="stDataFrame"]').nth(1).wait_for(timeout=60_000)
    _shot(page, "rankings", focus=page.locator(".js-plotly-plot").first)


def test_box_selection_on_embeddings_fills_the_table_and_downloads(page):
    _goto(page, "Embeddings")
    plot = page.locator(".js-plotly-plot").first
    plot.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    area = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    x0, y0 = area["x"] + area["width"] * 0.3, area["y"] + area["height"] * 0.3
    x1, y1 = area["x"] + area["width"] * 0.7, area["y"] + area["height"] * 0.7
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(x0 + (x1 - x0) * i / 10, y0 + (y1 - y0) * i / 10)
    page.mouse.up()
    page.mouse.move(5, 5)  # no hover label in the screenshot
    heading = page.locator("h3", has_text="Selection:")
    heading.filter(has_not_text="Selection: 0 archs").wait_for(timeout=60_000)
    n = int(heading.inner_text().split(":")[1].split()[0].replace(",", ""))
    assert n > 0
    _shot(page, "embeddings_selection", focus=heading)

    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Download selection as CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    assert len(rows) == n
    assert {"arch", "true", "pred", "true_rank", "is_train"} <= set(rows[0])


def test_umap_view_appears(page):
    page.locator('[data-testid="stRadio"] label', has_text="UMAP").first.click()
    start = time.perf_counter()
    page.locator(".gtitle", has_text="UMAP of the global embeddings").wait_for(timeout=300_000)
    print(f"UMAP view wall time after the click: {time.perf_counter() - start:.1f} s")
    _shot(page, "embeddings_umap")


def test_architecture_and_hypernetwork_pages_render(page):
    _goto(page, "Architectures")
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    _shot(page, "architectures", focus=page.locator(".js-plotly-plot").first)
    _goto(page, "Hypernetwork")
    page.get_by_text("Aux accuracy on digits").first.wait_for(timeout=180_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    _shot(page, "hypernetwork")
    _goto(page, "Loss weights")
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    _shot(page, "loss_weights")


def test_training_shows_live_curves_and_cancels(page):
    _goto(page, "Train")
    page.locator('[data-testid="stSelectbox"]', has_text="Method").click()
    page.get_by_role("option", name="np", exact=True).click()
    page.get_by_label("Budget (training archs)").fill("150")
    page.get_by_label("Epochs").fill("1000")
    page.get_by_role("button", name="Train", exact=True).click()
    progress = page.get_by_text(re.compile(r"Training — #\d+ np .*: epoch \d+/1000"))
    progress.wait_for(timeout=120_000)
    page.wait_for_timeout(3000)  # a few epochs for the live curves
    _shot(page, "train_live", focus=progress)
    page.get_by_role("button", name="Cancel").click()
    try:
        page.get_by_text("was cancelled").first.wait_for(timeout=120_000)
    finally:
        page.screenshot(path=str(SHOTS / "train_after_cancel.png"))


def test_a_second_browser_session_does_not_see_the_runs(page, server_url):
    other = page.context.browser.new_context().new_page()
    other.goto(server_url)
    _goto(other, "Rankings")
    other.get_by_text("No finished run in this session yet").wait_for(timeout=60_000)
    other.context.close()
