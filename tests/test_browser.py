"""Notebook 02 in a real browser: JupyterLab in headless Chromium, used as a person would.

Runs every cell, then types into a slider's readout, clicks "Send point" and
"Stream N", and checks that the status line's step count grows and the plot
changes. Screenshots go to test-artifacts/.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

from browser import chromium_available, jupyter_lab, lab_page, run_command

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "02_live_dashboard.ipynb"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.skipif(not chromium_available() and not os.environ.get("CI"),
                                reason="needs Debian's chromium (.ci/run installs it; in CI its absence fails)")


def step_of(dashboard) -> int:
    text = dashboard.locator(".olearn-status").inner_text()
    match = re.search(r"step (\d+)", text)
    assert match, f"no step count in the status line: {text!r}"
    return int(match.group(1))


def plot_source(dashboard) -> str:
    return dashboard.locator(".olearn-plot").get_attribute("src")


def wait_for_step(page, dashboard, at_least: int, timeout_s: float = 60) -> int:
    deadline = page.evaluate("Date.now()") + timeout_s * 1000
    while page.evaluate("Date.now()") < deadline:
        if step_of(dashboard) >= at_least:
            return step_of(dashboard)
        page.wait_for_timeout(100)
    raise AssertionError(f"step stayed at {step_of(dashboard)}, expected at least {at_least}")


def wait_for_last_dashboard(page, condition: str, timeout_s: float = 60) -> None:
    """Wait until `condition` (JavaScript over `d`, the newest dashboard element) holds."""
    page.wait_for_function(
        f"() => {{ const all = document.querySelectorAll('.olearn-dashboard');"
        f" const d = all[all.length - 1]; return {condition}; }}", timeout=timeout_s * 1000)


def stream_finished(page) -> None:
    wait_for_last_dashboard(page, "!d.querySelector('.olearn-stream').disabled")


def kernel_idle(page) -> bool:
    return page.evaluate(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
        " return !!k && k.status === 'idle'; }")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, workdir / NOTEBOOK)
    ARTIFACTS.mkdir(exist_ok=True)
    with jupyter_lab(workdir) as (base_url, token):
        with lab_page(base_url, token, NOTEBOOK) as page:
            yield page


def test_notebook_runs_and_widgets_work_in_a_browser(lab):
    page = lab
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel; }",
        timeout=90_000)
    run_command(page, "notebook:run-all-cells")
    page.wait_for_function("() => document.querySelectorAll('.olearn-dashboard').length >= 2", timeout=300_000)
    page.wait_for_timeout(500)
    for _ in range(600):
        if kernel_idle(page):
            break
        page.wait_for_timeout(500)
    assert kernel_idle(page), "the notebook's cells did not finish"
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']").count() == 0
    page.screenshot(path=ARTIFACTS / "browser-after-run-all.png")

    dashboard = page.locator(".olearn-dashboard").last
    dashboard.scroll_into_view_if_needed()
    start_step = step_of(dashboard)
    first_plot = plot_source(dashboard)

    readout = dashboard.locator(".olearn-x .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("-2.5")
    page.keyboard.press("Enter")
    assert readout.inner_text().strip().replace("\u2212", "-") in {"-2.5", "-2.50"}

    dashboard.locator(".olearn-send").click()
    after_send = wait_for_step(page, dashboard, start_step + 1)
    assert after_send == start_step + 1
    assert plot_source(dashboard) != first_plot
    assert "x=-2.5" not in dashboard.locator(".olearn-error").inner_text()

    count = dashboard.locator(".olearn-count input")
    count.fill("300")
    count.press("Enter")
    before_stream = plot_source(dashboard)
    dashboard.locator(".olearn-stream").click()
    page.wait_for_timeout(400)
    mid_stream = plot_source(dashboard)
    final_step = wait_for_step(page, dashboard, after_send + 300, timeout_s=120)
    assert final_step == after_send + 300
    stream_finished(page)
    assert len({before_stream, mid_stream, plot_source(dashboard)}) >= 2
    assert dashboard.locator(".olearn-error").inner_text().strip() == ""
    dashboard.screenshot(path=ARTIFACTS / "dashboard.png")

    count.fill("5000")
    count.press("Enter")
    dashboard.locator(".olearn-stream").click()
    wait_for_step(page, dashboard, final_step + 20)
    dashboard.locator(".olearn-stop").click()
    stream_finished(page)
    stopped_at = step_of(dashboard)
    assert final_step + 20 <= stopped_at < final_step + 5000

    dashboard.locator(".olearn-reset").click()
    wait_for_last_dashboard(page, "/step 0 /.test(d.querySelector('.olearn-status').innerText)")
    page.screenshot(path=ARTIFACTS / "browser-after-reset.png")
