"""The dashboard in a real headless Chromium: it shows each experiment's decision and its chart.

Skips, saying why, where no Chromium (Debian's package, /usr/bin/chromium) or no Playwright is
installed; `.ci/run` installs both so CI runs it. The screenshot lands in the test's tmp folder
and its path is printed (pytest -s shows it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

CHROMIUM = os.environ.get("INTERLEAVE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
LISTS = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]


@pytest.fixture
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip(
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set INTERLEAVE_CHROMIUM)"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the dashboard test drives Chromium with playwright"
    )
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def test_dashboard_shows_the_live_decision_and_chart(live_service, browser, tmp_path):
    url, _ = live_service
    with httpx.Client(base_url=url, timeout=10) as client:
        for i in range(60):
            shown = client.post(
                "/interleave", json={"request_key": f"r{i}", "user": f"u{i % 6}", "rankings": LISTS}
            ).json()
            candidate = [p for p, team in enumerate(shown["teams"]) if team == 1]
            click = {"impression_id": shown["impression_id"], "position": candidate[0]}
            client.post("/clicks", json=click)
        for user in range(6):
            assert client.post("/sessions/end", json={"user": f"u{user}"}).json()["credited"] == 10
    page = browser.new_page(viewport={"width": 900, "height": 600})
    page.goto(url + "/")
    page.wait_for_selector(".card[data-experiment='default']", timeout=15_000)
    text = page.inner_text(".card[data-experiment='default']")
    assert "team_draft" in text
    assert "60" in text  # impressions served
    assert "candidate better" in text  # 60 of 60 won: the mixture SPRT has decided
    assert page.locator(".card svg polyline").count() == 1  # the win-rate path is drawn
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"dashboard screenshot: {shot}")
    assert shot.stat().st_size > 1000
