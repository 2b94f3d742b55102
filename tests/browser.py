"""A JupyterLab server and a headless Chromium driven by Playwright, for browser tests.

`jupyter_lab(workdir)` serves `workdir` on a free loopback port with a random token;
`open_lab(url)` yields a Playwright page with JupyterLab loaded and its app object
exposed, so a test can run Lab commands and then use widgets as a person would.
"""

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from olearn_helpers.lifecycle import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync"]
QUIET_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                  {"fetchNews": "false", "checkForUpdates": False}}


def chromium_available() -> bool:
    return Path(CHROMIUM).exists()


@contextlib.contextmanager
def jupyter_lab(workdir: Path, timeout: float = 90.0):
    """Run JupyterLab on 127.0.0.1 serving `workdir`; yield (base_url, token)."""
    port, token = free_port(), secrets.token_hex(16)
    settings = workdir / ".lab-settings"
    for name, values in QUIET_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={workdir}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workdir / '.lab-workspaces'}",
               "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:
        command.append("--ServerApp.allow_root=True")
    log = open(workdir / "jupyterlab.log", "w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{base_url}/api/status", params={"token": token}, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start; see {workdir / 'jupyterlab.log'}")
            time.sleep(0.25)
        yield base_url, token
    finally:
        with contextlib.suppress(requests.RequestException):
            requests.post(f"{base_url}/api/shutdown", params={"token": token}, timeout=5)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@contextlib.contextmanager
def lab_page(base_url: str, token: str, path: str, width: int = 1400, height: int = 1000):
    """A Playwright page with `path` open in JupyterLab."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{base_url}/lab/tree/{path}?token={token}&reset")
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=90_000)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
            yield page
        finally:
            browser.close()


def run_command(page, command: str, args: dict | None = None) -> None:
    """Run a JupyterLab command (e.g. 'notebook:run-all-cells') in the page."""
    page.evaluate("([id, args]) => window.jupyterapp.commands.execute(id, args)", [command, args or {}])
