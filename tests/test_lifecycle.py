"""start_learner / stop_learner: reuse, redeploy, busy port, loopback, token, restarts, CLI."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from contextlib import redirect_stdout
from io import StringIO
from urllib.parse import urlparse

import psutil
import pytest
import requests

from olearn_helpers import lifecycle, start_learner, stop_learner
from olearn_helpers.lifecycle import free_port

PYTHON = sys.executable
DASHBOARD_PORT = 8265
LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


def listening(pids):
    return [c for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.pid in pids]


def our_processes():
    return {p.pid for p in psutil.Process().children(recursive=True)} | {os.getpid()}


@pytest.fixture(scope="module")
def busy_port():
    """A port some other program already listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


@pytest.fixture(scope="module")
def started(busy_port):
    printed = StringIO()
    began = time.monotonic()
    with redirect_stdout(printed):
        learner = start_learner(port=busy_port)
    first_answer = learner.state()
    yield {"learner": learner, "printed": printed.getvalue(), "seconds": time.monotonic() - began,
           "first_answer": first_answer, "port": busy_port}
    stop_learner()


def test_busy_port_picks_a_free_one_and_says_which(started):
    port = urlparse(started["learner"].url).port
    assert port != started["port"]
    assert f"Port {started['port']} is in use" in started["printed"]
    assert f"uses port {port} instead" in started["printed"]
    assert started["first_answer"]["step"] == 0


def test_rerun_returns_the_live_learner_in_well_under_a_second(started):
    started["learner"].train(1.0, 3.0)
    began = time.monotonic()
    again = start_learner(port=started["port"])
    assert time.monotonic() - began < 0.5
    assert again is started["learner"]
    assert again.state()["step"] == 1


def test_new_lr_seed_or_code_redeploys(started, monkeypatch):
    learner = start_learner(lr=0.05, seed=1, port=started["port"])
    state = learner.state()
    assert (state["lr"], state["seed"], state["step"]) == (0.05, 1, 0)
    learner.train(1.0, 3.0)
    monkeypatch.setattr(lifecycle, "CODE_VERSION", "edited")
    redeployed = start_learner(lr=0.05, seed=1, port=started["port"])
    assert redeployed.state()["deployed_with"]["code_version"] == "edited"
    assert redeployed.state()["step"] == 0


def test_serve_and_dashboard_listen_on_loopback_only(started):
    ours = our_processes()
    port = urlparse(started["learner"].url).port
    sockets = listening(ours)
    assert [c.laddr.ip for c in sockets if c.laddr.port == port] == ["127.0.0.1"]
    assert not [c for c in sockets if c.laddr.port == DASHBOARD_PORT]

    def name(pid):
        return " ".join(psutil.Process(pid).cmdline())

    dashboard = [c for c in sockets if "dashboard" in name(c.pid).lower()]
    assert dashboard and {c.laddr.ip for c in dashboard} <= LOOPBACK
    # Ray Serve 2.60 hard-codes "[::]:0" for each replica's inter-deployment gRPC
    # server (serve/_private/replica.py); every other socket follows the node address.
    wide = [(name(c.pid).strip(), c.laddr.ip) for c in sockets if c.laddr.ip not in LOOPBACK]
    assert [process for process, _ in wide] == ["ray::ServeReplica:olearn:OnlineLearner"]


@pytest.mark.parametrize("auth_env", [{}, {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "not-the-token"}],
                         ids=["no-token", "wrong-token"])
def test_a_driver_without_the_token_cannot_attach(started, tmp_path, auth_env):
    import ray

    gcs_address = ray.get_runtime_context().gcs_address
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(auth_env, HOME=str(tmp_path), RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    attach = f"import ray; ray.init(address={gcs_address!r}); print('ATTACHED')"
    result = subprocess.run([PYTHON, "-c", attach], env=env, capture_output=True, text=True, timeout=120)
    assert "ATTACHED" not in result.stdout
    assert result.returncode != 0
    assert "Authentication" in result.stderr or "InvalidAuthToken" in result.stderr


def test_stop_leaves_no_process_of_ours(started):
    learner = started["learner"]
    helpers = psutil.Process().children(recursive=True)
    assert helpers, "a running learner has Ray processes"
    assert os.environ["RAY_AUTH_MODE"] == "token" and os.environ["RAY_AUTH_TOKEN"]
    stop_learner()
    assert "RAY_AUTH_TOKEN" not in os.environ and "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER" not in os.environ
    assert not [p for p in helpers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    with pytest.raises(requests.ConnectionError):
        requests.get(learner.url + "/state", timeout=5)


def run_python(code, **kwargs):
    return subprocess.Popen([PYTHON, "-u", "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def test_kernel_restart_then_start_learner_just_works():
    from jupyter_client import KernelManager

    port = free_port()
    start = f"from olearn_helpers import start_learner; learner = start_learner(port={port}); learner.train(1.0, 3.0)"
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        assert client.execute_interactive(start, timeout=180)["content"]["status"] == "ok"
        manager.restart_kernel(now=True)
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(start + "; assert learner.state()['step'] == 1, learner.state()",
                                           timeout=180)
        assert reply["content"]["status"] == "ok", reply["content"]
        assert requests.get(f"http://127.0.0.1:{port}/state", timeout=10).json()["step"] == 1
        client.execute_interactive("from olearn_helpers import stop_learner; stop_learner()", timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_cli_serves_until_ctrl_c_and_leaves_nothing_behind():
    port = free_port()
    server = subprocess.Popen([PYTHON, "-u", "-m", "olearn_helpers", "serve", "--port", str(port), "--lr", "0.05"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert f"Learner ready at http://127.0.0.1:{port}" in line, line + server.stderr.read()
        assert requests.get(f"http://127.0.0.1:{port}/state", timeout=10).json()["lr"] == 0.05
        helpers = psutil.Process(server.pid).children(recursive=True)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0
        assert "Stopped." in server.stdout.read()
        psutil.wait_procs(helpers, timeout=10)
        assert not [p for p in helpers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        server.kill()


def test_deploys_onto_an_existing_cluster_and_leaves_it_running(tmp_path):
    token = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "olearn-test-" + os.urandom(8).hex()}
    env = {**os.environ, **token, "HOME": str(tmp_path)}
    cluster = run_python("""
        import logging, sys, ray
        ray.init(include_dashboard=False, object_store_memory=128 * 1024**2, logging_level=logging.ERROR)
        print(ray.get_runtime_context().gcs_address, flush=True)
        sys.stdin.read()
    """, env=env, stdin=subprocess.PIPE)
    try:
        address = cluster.stdout.readline().strip()
        assert address, cluster.stderr.read()
        port = free_port()
        driver = run_python(f"""
            from olearn_helpers import start_learner, stop_learner
            learner = start_learner(address={address!r}, port={port})
            print(learner.url, learner.train(1.0, 3.0)["step"], flush=True)
            stop_learner()
        """, env=env)
        out, err = driver.communicate(timeout=240)
        assert driver.returncode == 0, err
        assert out.split() == [f"http://127.0.0.1:{port}", "1"]
        check = run_python(f"""
            import ray; from ray import serve
            ray.init(address={address!r}); print(sorted(serve.status().applications))
        """, env=env)
        out, err = check.communicate(timeout=120)
        assert check.returncode == 0, err
        assert "olearn" not in out
        assert cluster.poll() is None, "the existing cluster keeps running"
    finally:
        cluster.stdin.close()
        cluster.wait(timeout=60)
