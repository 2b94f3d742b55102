"""The seed's model, y = w*x + b, trained one SGD step per point.

`LinearLearner` is the state a Serve replica keeps in memory. It is plain
PyTorch, so it can be tested and replayed without Ray. Every public method
takes one lock: training steps never overlap and a read never sees a
half-applied step. A step that would make a weight non-finite is rolled
back and refused with `DivergenceError`.

Example:
    >>> learner = LinearLearner(lr=0.1, seed=0)
    >>> result = learner.train(1.0, 3.0)
    >>> result["step"]
    1
    >>> learner.state()["step"]
    1
"""

from __future__ import annotations

import math
import threading
from typing import Iterable, Sequence

import torch
import torch.nn as nn
import torch.optim as optim


class DivergenceError(Exception):
    """A training step would have made a weight non-finite; nothing changed."""


class LinearLearner:
    """One-feature linear regression trained online by SGD on MSE loss.

    Example:
        >>> learner = LinearLearner(lr=0.1, seed=0)
        >>> _ = learner.train_many([(1.0, 3.0), (2.0, 5.0)])
        >>> learner.state()["step"]
        2
    """

    def __init__(self, lr: float = 0.1, seed: int = 0):
        self.seed = seed
        self._lock = threading.Lock()
        self._criterion = nn.MSELoss()
        self._init_model(lr)

    def _init_model(self, lr: float) -> None:
        torch.manual_seed(self.seed)
        self.model = nn.Linear(1, 1)
        self.optimizer = optim.SGD(self.model.parameters(), lr=lr)
        self.step = 0
        self.last_loss: float | None = None
        self.refused_steps = 0

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def _weights(self) -> tuple[float, float]:
        return self.model.weight.item(), self.model.bias.item()

    def _sgd_step(self, x: float, y: float) -> tuple[float, float, float]:
        """Forward, loss, backward, step. Returns (loss, grad_w, grad_b)."""
        self.optimizer.zero_grad()
        prediction = self.model(torch.tensor([[x]]))
        loss = self._criterion(prediction, torch.tensor([[y]]))
        loss.backward()
        grad_w, grad_b = self.model.weight.grad.item(), self.model.bias.grad.item()
        self.optimizer.step()
        return loss.item(), grad_w, grad_b

    def _apply(self, points: Sequence[tuple[float, float]]) -> dict:
        saved = {name: p.detach().clone() for name, p in self.model.named_parameters()}
        loss = grad_w = grad_b = math.nan
        losses = []
        for index, (x, y) in enumerate(points):
            loss, grad_w, grad_b = self._sgd_step(x, y)
            losses.append(loss)
            w, b = self._weights()
            bad = [name for name, value in (("w", w), ("b", b)) if not math.isfinite(value)]
            if bad or not math.isfinite(loss):
                with torch.no_grad():
                    for name, p in self.model.named_parameters():
                        p.copy_(saved[name])
                self.refused_steps += 1
                where = f"point {index} " if len(points) > 1 else ""
                raise DivergenceError(
                    f"step refused: {where}(x={x:g}, y={y:g}) would make "
                    f"{' and '.join(bad) or 'the loss'} non-finite at lr={self.lr:g}; "
                    f"the model keeps its last good weights (lower the learning rate)"
                )
        self.step += len(points)
        self.last_loss = loss
        w, b = self._weights()
        return {"loss": loss, "step": self.step, "grad_w": grad_w, "grad_b": grad_b, "losses": losses,
                "w": w, "b": b}

    def train(self, x: float, y: float) -> dict:
        """Apply one SGD step: the loss before it, its gradients, the new step count and weights."""
        with self._lock:
            result = self._apply([(float(x), float(y))])
        del result["losses"]
        return result

    def train_many(self, points: Iterable[Sequence[float]]) -> dict:
        """Apply one SGD step per point, in order, as one transaction.

        Either every point is applied or, if one would diverge, none is.
        `losses` holds each point's loss before its own step.
        """
        batch = [(float(x), float(y)) for x, y in points]
        with self._lock:
            if not batch:
                w, b = self._weights()
                return {"loss": self.last_loss, "step": self.step, "applied": 0, "losses": [], "w": w, "b": b}
            result = self._apply(batch)
        return {"loss": result["loss"], "step": result["step"], "applied": len(batch),
                "losses": result["losses"], "w": result["w"], "b": result["b"]}

    def predict(self, x: float) -> float:
        with self._lock, torch.no_grad():
            return self.model(torch.tensor([[float(x)]])).item()

    def set_lr(self, lr: float) -> None:
        """Change the learning rate; weights and step count stay."""
        with self._lock:
            for group in self.optimizer.param_groups:
                group["lr"] = lr

    def reset(self) -> None:
        """Back to the initial weights for this seed, step 0, same learning rate."""
        with self._lock:
            self._init_model(self.lr)

    def state(self) -> dict:
        with self._lock:
            w, b = self._weights()
            return {"w": w, "b": b, "step": self.step, "lr": self.lr, "seed": self.seed,
                    "last_loss": self.last_loss, "refused_steps": self.refused_steps}
