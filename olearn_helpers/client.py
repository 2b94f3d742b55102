"""`LearnerClient`: a small Python face for a learner's HTTP API.

One `requests.Session` (connection reuse), timeouts on every call, and the
server's error message raised as a Python exception.

Example:
    >>> from olearn_helpers import start_learner
    >>> learner = start_learner()                    # doctest: +SKIP
    >>> learner.train(1.0, 3.0)["step"]              # doctest: +SKIP
    1
    >>> LearnerClient(learner.url).predict(1.0)      # doctest: +SKIP
    1.517...
"""

from __future__ import annotations

import json
from typing import Iterable, Sequence

import requests


class LearnerError(Exception):
    """The learner answered with an error; `str(error)` is its message."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class InvalidInput(LearnerError):
    """HTTP 422: a field was missing, of the wrong type, non-finite or out of range."""


class StepRefused(LearnerError):
    """HTTP 409: the step would have made a weight non-finite; the model is unchanged."""


class LearnerUnavailable(LearnerError):
    """Nothing answered at the learner's URL in time."""


_ERRORS = {422: InvalidInput, 409: StepRefused}


class LearnerClient:
    """Talk to an `OnlineLearner` at `url` ("http://127.0.0.1:8000")."""

    def __init__(self, url: str, timeout: float = 30.0, connect_timeout: float = 3.0):
        self.url = url.rstrip("/")
        self.timeout = (connect_timeout, timeout)
        self.session = requests.Session()

    def __repr__(self) -> str:
        return f"LearnerClient({self.url!r})"

    def _call(self, method: str, path: str, payload: dict | None = None) -> dict:
        # json.dumps writes NaN and Infinity, so the server, not the client, judges them.
        body = None if payload is None else json.dumps(payload)
        try:
            response = self.session.request(method, self.url + path, data=body, timeout=self.timeout,
                                            headers={"content-type": "application/json"})
        except requests.RequestException as error:
            raise LearnerUnavailable(
                f"no learner answers at {self.url} ({type(error).__name__}); "
                "is it running? start one with olearn_helpers.start_learner()"
            ) from None
        if response.ok:
            return response.json()
        try:
            message = response.json()["detail"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:500] or response.reason
        raise _ERRORS.get(response.status_code, LearnerError)(
            f"{path} answered {response.status_code}: {message}", status=response.status_code
        )

    def train(self, x: float, y: float) -> dict:
        """One SGD step on (x, y): `{"loss", "step", "grad_w", "grad_b", "w", "b"}`."""
        return self._call("POST", "/train", {"x": x, "y": y})

    def train_many(self, points: Iterable[Sequence[float]]) -> dict:
        """One SGD step per point, in order, all or none: `{"loss", "step", "applied", "losses", "w", "b"}`."""
        return self._call("POST", "/train_batch", {"points": [list(p) for p in points]})

    def predict(self, x: float) -> float:
        return self._call("POST", "/predict", {"x": x})["prediction"]

    def state(self) -> dict:
        """Weights, step count, learning rate, seed, last loss, refused steps."""
        return self._call("GET", "/state")

    def set_lr(self, lr: float) -> dict:
        """Change the live model's learning rate; weights and step count stay."""
        return self._call("POST", "/config", {"lr": lr})

    def reset(self) -> dict:
        """Back to the initial weights of the deploy seed, step 0."""
        return self._call("POST", "/reset")
