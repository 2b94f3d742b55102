"""Start and stop a local learner with one call each.

`start_learner()` starts Ray (dashboard off, token authentication on,
a small object store, quiet logs), starts Serve's HTTP proxy on 127.0.0.1,
deploys `OnlineLearner` and returns a `LearnerClient` once the learner
answers. Calling it again returns the live learner at once, unless the
learning rate, seed or code changed, in which case it redeploys.

Example:
    >>> from olearn_helpers import start_learner, stop_learner
    >>> learner = start_learner(lr=0.1, seed=0)     # doctest: +SKIP
    >>> learner.state()["step"]                     # doctest: +SKIP
    0
    >>> stop_learner()                              # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time

import psutil

from .client import LearnerClient, LearnerError, LearnerUnavailable
from .server import APP_NAME, CODE_VERSION, build_app

HOST = "127.0.0.1"
DEFAULT_PORT = 8000
OBJECT_STORE_BYTES = 128 * 1024**2
READY_TIMEOUT_S = 120.0

PRIVATE_CLUSTER_ENV = {"RAY_AUTH_MODE": "token", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}

_live: dict = {}
_saved_settings: dict = {}
_NOISY_LOGGERS = ("ray", "ray.serve", "ray.data", "ray.tune", "filelock")


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket() as probe:
        # Like the HTTP server itself, accept a port whose old connections linger in TIME_WAIT.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _quiet_logs() -> None:
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _private_cluster_settings(apply: bool) -> None:
    """Settings for the Ray we start, applied before ray.init and undone by stop_learner.

    - Token authentication, with a fresh token that only this process and its
      children hold (`RAY_AUTH_MODE=token`, `RAY_AUTH_TOKEN`).
    - Ray's single-machine mode, as on macOS and Windows: the node address is
      127.0.0.1, so Ray's servers listen on loopback. On Linux ray.init() would
      otherwise replace a loopback address with the machine's network address.
    """
    from ray._private import ray_constants
    from ray._raylet import AuthenticationTokenLoader, Config

    if apply:
        _saved_settings.update({name: os.environ.get(name) for name in (*PRIVATE_CLUSTER_ENV, "RAY_AUTH_TOKEN")},
                               enable_ray_cluster=ray_constants.ENABLE_RAY_CLUSTER)
        os.environ.update(PRIVATE_CLUSTER_ENV, RAY_AUTH_TOKEN=secrets.token_hex(32))
        ray_constants.ENABLE_RAY_CLUSTER = False
    elif _saved_settings:
        ray_constants.ENABLE_RAY_CLUSTER = _saved_settings.pop("enable_ray_cluster")
        for name, value in _saved_settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _saved_settings.clear()
    # ray reads RAY_AUTH_MODE once at import; refresh it as ray's own token set-up does.
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _start_ray(address: str | None) -> bool:
    """Connect to `address`, or start a private local Ray. True if we started it."""
    import ray

    if ray.is_initialized():
        return bool(_saved_settings)  # ours, from a start that failed half-way
    common = dict(log_to_driver=False, logging_level=logging.ERROR, namespace=APP_NAME)
    if address:
        ray.init(address=address, **common)
        return False
    _private_cluster_settings(apply=True)
    ray.init(
        include_dashboard=False,
        object_store_memory=OBJECT_STORE_BYTES,
        _node_ip_address=HOST,
        **common,
    )
    return True


def _start_serve(port: int) -> None:
    from ray import serve
    from ray.serve.config import HTTPOptions, ProxyLocation
    from ray.serve.schema import LoggingConfig

    serve.start(
        http_options=HTTPOptions(host=HOST, port=port),
        proxy_location=ProxyLocation.HeadOnly,
        logging_config=LoggingConfig(log_level="WARNING", enable_access_log=False),
    )
    _quiet_logs()


def _serve_port(default: int) -> int:
    from ray.serve.context import _get_global_client

    try:
        return _get_global_client().http_config.port
    except Exception:
        return default


def _wait_until_serving(client: LearnerClient, wanted: dict, timeout: float = READY_TIMEOUT_S) -> dict:
    """Poll `/state` until the learner deployed with `wanted` answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = client.state()
            if state.get("deployed_with") == wanted:
                return state
        except LearnerError:
            pass
        if time.monotonic() > deadline:
            raise LearnerUnavailable(f"the learner at {client.url} did not answer within {timeout:.0f} s")
        time.sleep(0.05)


def _reusable(lr: float, seed: int, port: int, address: str | None) -> LearnerClient | None:
    import ray

    if not (_live and ray.is_initialized()):
        return None
    if (_live["port"], _live["address"]) != (port, address):
        return None
    try:
        deployed = _live["client"].state()["deployed_with"]
    except LearnerError:
        return None
    return _live["client"] if deployed == _wanted(lr, seed) else None


def _wanted(lr: float, seed: int) -> dict:
    return {"lr": lr, "seed": seed, "code_version": CODE_VERSION}


def start_learner(
    lr: float = 0.1,
    seed: int = 0,
    port: int | None = None,
    address: str | None = None,
    redeploy: bool = False,
) -> LearnerClient:
    """Start (or reuse) a local `OnlineLearner` and return a client for it.

    Args:
        lr: learning rate of the SGD optimizer.
        seed: torch seed for the initial weights.
        port: HTTP port on 127.0.0.1 (default: `OLEARN_PORT`, else 8000); if something
            else holds it, a free one is used and a line says which.
        address: an existing Ray cluster to deploy onto (default: `RAY_ADDRESS`,
            else a private local Ray that `stop_learner()` shuts down).
        redeploy: deploy a fresh learner even if an identical one is live.

    Example:
        >>> learner = start_learner(lr=0.05)             # doctest: +SKIP
        >>> learner.url                                  # doctest: +SKIP
        'http://127.0.0.1:8000'
    """
    import ray
    from ray import serve

    port = port or int(os.environ.get("OLEARN_PORT", DEFAULT_PORT))
    address = address or os.environ.get("RAY_ADDRESS") or None
    if not redeploy and (client := _reusable(lr, seed, port, address)):
        return client
    if _live and (_live["port"], _live["address"]) != (port, address):
        stop_learner()

    _quiet_logs()
    if not (_live and ray.is_initialized()):
        _live.clear()
        chosen = port
        if address is None and not ray.is_initialized() and not port_is_free(port):
            chosen = free_port()
            print(f"Port {port} is in use by another program; the learner uses port {chosen} instead.")
        started_ray = _start_ray(address)
        _start_serve(chosen)
        _live.update(port=port, address=address, started_ray=started_ray,
                     client=LearnerClient(f"http://{HOST}:{_serve_port(chosen)}"))

    serve.run(build_app(lr=lr, seed=seed, code_version=CODE_VERSION), name=APP_NAME, route_prefix="/")
    _wait_until_serving(_live["client"], _wanted(lr, seed))
    return _live["client"]


def stop_learner(timeout: float = 20.0) -> None:
    """Take the learner down; with a private Ray, leave no Ray process behind.

    On a cluster given by `address=`, only the learner's Serve application is
    deleted and this process disconnects; the cluster keeps running.
    """
    import ray
    from ray import serve

    if not ray.is_initialized():
        _live.clear()
        return
    started_ray = _live.get("started_ray", False)
    ours = psutil.Process().children(recursive=True) if started_ray else []
    if not started_ray:
        serve.delete(APP_NAME)
    ray.shutdown()
    _live.clear()
    _private_cluster_settings(apply=False)
    _, alive = psutil.wait_procs(ours, timeout=timeout)
    for process in alive:
        process.kill()
    psutil.wait_procs(alive, timeout=5)
