"""Browser check of the dashboard: serve ``sim/app.py`` with ``solara run``, open it in headless
Chromium (Debian's ``chromium``, driven by Playwright), step the model, change a lever, and save
screenshots before and after.

Needs the ``app`` extra and ``/usr/bin/chromium`` (``make test-app`` installs both). Skipped
without them, unless ``SIM_REQUIRE_BROWSER=1`` (CI sets it): then a missing piece fails the test.
Screenshots go to ``$SIM_SCREENSHOT_DIR`` (default: pytest's temporary directory); the test
prints where.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIRED = os.environ.get("SIM_REQUIRE_BROWSER") == "1"
CHROMIUM = os.environ.get("SIM_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
STEPS = 12  # months stepped before each screenshot
LEVER = "policy.outreach"


def _missing() -> str | None:
    for module in ("solara", "altair", "playwright"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (the app extra: make test-app)"
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (apt-get install chromium, or set SIM_CHROMIUM)"
    return None


def _check_requirements() -> None:
    reason = _missing()
    if reason is None:
        return
    if REQUIRED:
        pytest.fail(f"SIM_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """``solara run sim/app.py`` on a free localhost port; yields its URL."""
    _check_requirements()
    from sim.app_assets import provision

    try:
        provision(quiet=True)  # the page's scripts, from npm into Solara's CDN cache (no-op when present)
    except FileNotFoundError as e:
        print(f"note: {e}; relying on Solara's CDN")
    port = _free_port()
    solara = Path(sys.executable).with_name("solara")
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"}
    log = (REPO / ".pytest_cache").resolve()
    log.mkdir(exist_ok=True)
    with open(log / "solara-server.log", "w") as out:
        proc = subprocess.Popen([str(solara), "run", "sim/app.py", "--host", "127.0.0.1", "--port", str(port),
                                 "--no-open", "--production"], cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"solara exited with {proc.returncode}: {(log / 'solara-server.log').read_text()}")
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("solara did not answer within 120 s")
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    where = Path(os.environ.get("SIM_SCREENSHOT_DIR", tmp_path))
    where.mkdir(parents=True, exist_ok=True)
    return where


def _step(page, n: int) -> None:  # type: ignore[no-untyped-def]
    for k in range(1, n + 1):
        page.get_by_role("button", name="Step").click()
        page.get_by_text(f"(step {k} of ").wait_for(timeout=60_000)


def _figures(page) -> list[dict]:  # type: ignore[no-untyped-def]
    """The four figure images in the grid: source and rendered size."""
    page.wait_for_function("document.querySelectorAll('.vue-grid-item img').length >= 4", timeout=60_000)
    return page.eval_on_selector_all(
        ".vue-grid-item img",
        "els => els.map(e => ({src: e.src, w: e.naturalWidth, h: e.naturalHeight}))")


def test_dashboard_in_chromium_steps_and_responds_to_a_lever(server: str, shots: Path) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1500})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server, wait_until="domcontentloaded")
            page.get_by_role("button", name="Step").wait_for(timeout=120_000)
            first = _figures(page)
            _step(page, STEPS)
            page.get_by_text(f"{LEVER} = 1").wait_for()
            before = _figures(page)
            page.screenshot(path=shots / "dashboard_before.png", full_page=True)

            # the lever: keyboard on the slider (Home = its minimum, 0), then Reset builds the model with it
            slider = page.locator(".v-input", has=page.get_by_text(LEVER, exact=True)).get_by_role("slider")
            slider.focus()
            slider.press("Home")
            page.get_by_role("button", name="Reset").click()
            page.get_by_text(f"{LEVER} = 0 (the scenario file sets 1)").wait_for(timeout=60_000)
            _step(page, STEPS)
            after = _figures(page)
            page.screenshot(path=shots / "dashboard_after.png", full_page=True)
        finally:
            browser.close()
    print(f"\nscreenshots: {shots / 'dashboard_before.png'} and {shots / 'dashboard_after.png'}")

    assert not errors, f"errors in the page: {errors}"
    assert len(first) == len(before) == len(after) == 4
    # after steps, the three plots are real figures, taller than the "press Step" placeholder
    assert all(f["h"] > 1.5 * p["h"] for f, p in zip(before[1:], first[1:], strict=True))
    # the same month under another lever: every figure differs
    changed = [a["src"] != b["src"] for a, b in zip(before, after, strict=True)]
    assert all(changed), f"figures unchanged by the lever: {changed}"
