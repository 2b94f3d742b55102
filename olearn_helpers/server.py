"""The `OnlineLearner` Ray Serve deployment: a `LinearLearner` behind HTTP.

Endpoints take JSON bodies (`{"x": 1.0, "y": 3.0}`) or, as in the seed
tutorial, query parameters (`/train?x=1.0&y=3.0`). Bad input gets a 422
whose `detail` names the field; a refused step gets a 409. Neither touches
the model.

Example (needs a running learner, see `olearn_helpers.lifecycle`):
    >>> import requests
    >>> requests.post(url + "/train", json={"x": 1.0, "y": 3.0}).json()  # doctest: +SKIP
    {'loss': 6.106..., 'step': 1, 'grad_w': -4.94..., 'grad_b': -4.94..., 'w': 0.486..., 'b': 1.030...}
"""


import hashlib
import json
from pathlib import Path
from typing import Annotated

import torch
from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ray import serve

from .model import LinearLearner, DivergenceError

APP_NAME = "olearn"
MAX_ABS_VALUE = 1e6
MAX_BATCH = 10_000
MAX_ONGOING_REQUESTS = 256

#: Changes whenever the learner's code changes, so `start_learner` knows to redeploy.
CODE_VERSION = hashlib.sha256(
    b"".join((Path(__file__).parent / name).read_bytes() for name in ("model.py", "server.py"))
).hexdigest()[:12]

Number = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainRequest(_Strict):
    x: Number
    y: Number


class PredictRequest(_Strict):
    x: Number


class BatchRequest(_Strict):
    points: Annotated[list[tuple[Number, Number]], Field(max_length=MAX_BATCH)]


class ConfigRequest(_Strict):
    lr: Annotated[float, Field(allow_inf_nan=False, gt=0, le=100)]


def describe(error: ValidationError) -> str:
    """One clause per problem, each starting with the field it concerns, joined by "; "."""
    lines = []
    for problem in error.errors():
        field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem["loc"]).lstrip(".")
        got = problem.get("input")
        shown = "" if isinstance(got, dict) else f" (got {json.dumps(got, default=str)[:40]})"
        lines.append(f"{field or 'body'}: {problem['msg']}{shown}")
    return "; ".join(lines)


async def parse(request: Request, schema: type[BaseModel]) -> BaseModel:
    """Validate the query parameters if there are any (the seed's form), else the JSON body."""
    try:
        if request.query_params:
            return schema.model_validate(dict(request.query_params))
        # Reading the body costs the replica one more round trip to Serve's proxy.
        body = await request.body()
        return schema.model_validate_json(body) if body.strip() else schema.model_validate({})
    except ValidationError as error:
        raise HTTPException(status_code=422, detail=describe(error)) from None


app = FastAPI(title="olearn OnlineLearner")


@serve.deployment(max_ongoing_requests=MAX_ONGOING_REQUESTS, ray_actor_options={"num_cpus": 0})
@serve.ingress(app)
class OnlineLearner:
    """Weights live in this replica's memory; `/train` is a write, `/predict` a read."""

    def __init__(self, lr: float = 0.1, seed: int = 0, code_version: str = CODE_VERSION):
        torch.set_num_threads(1)
        self.deployed_with = {"lr": lr, "seed": seed, "code_version": code_version}
        self.learner = LinearLearner(lr=lr, seed=seed)

    @app.post("/train")
    async def train(self, request: Request) -> dict:
        point = await parse(request, TrainRequest)
        try:
            return self.learner.train(point.x, point.y)
        except DivergenceError as refused:
            raise HTTPException(status_code=409, detail=str(refused)) from None

    @app.post("/train_batch")
    async def train_batch(self, request: Request) -> dict:
        batch = await parse(request, BatchRequest)
        try:
            return self.learner.train_many(batch.points)
        except DivergenceError as refused:
            raise HTTPException(status_code=409, detail=f"{refused}; no point of the batch was applied") from None

    @app.post("/predict")
    async def predict(self, request: Request) -> dict:
        query = await parse(request, PredictRequest)
        return {"prediction": self.learner.predict(query.x)}

    @app.get("/state")
    async def state(self) -> dict:
        return {**self.learner.state(), "deployed_with": self.deployed_with}

    @app.post("/config")
    async def config(self, request: Request) -> dict:
        change = await parse(request, ConfigRequest)
        self.learner.set_lr(change.lr)
        return await self.state()

    @app.post("/reset")
    async def reset(self) -> dict:
        self.learner.reset()
        return await self.state()


def build_app(lr: float = 0.1, seed: int = 0, code_version: str = CODE_VERSION):
    """The Serve application for one learner; `code_version` tells a redeploy is due."""
    return OnlineLearner.bind(lr=lr, seed=seed, code_version=code_version)
