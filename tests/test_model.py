"""The learner's state machine, in-process: one SGD step per point, rollback on divergence."""

import math

import pytest
import torch

from olearn_helpers.model import DivergenceError, LinearLearner

POINTS = [(0.5 * i - 2.0, 1.5 * i + 0.25) for i in range(9)]


def test_one_step_is_the_seed_training_loop():
    learner = LinearLearner(lr=0.1, seed=0)
    w0, b0 = learner.state()["w"], learner.state()["b"]
    result = learner.train(2.0, 5.0)
    error = (w0 * 2.0 + b0) - 5.0
    assert result["loss"] == pytest.approx(error**2, rel=1e-6)
    assert result["grad_w"] == pytest.approx(2 * error * 2.0, rel=1e-6)
    assert result["grad_b"] == pytest.approx(2 * error, rel=1e-6)
    state = learner.state()
    assert state["w"] == pytest.approx(w0 - 0.1 * result["grad_w"], rel=1e-6)
    assert state["b"] == pytest.approx(b0 - 0.1 * result["grad_b"], rel=1e-6)
    assert state["step"] == 1


def test_same_seed_same_initial_weights_and_reset_returns_to_them():
    a, b = LinearLearner(seed=3), LinearLearner(seed=3)
    assert a.state() == b.state()
    initial = a.state()
    a.train_many(POINTS)
    a.reset()
    assert a.state() == initial
    assert LinearLearner(seed=4).state()["w"] != initial["w"]


def test_batch_equals_the_same_points_one_by_one():
    batch, single = LinearLearner(seed=1), LinearLearner(seed=1)
    result = batch.train_many(POINTS)
    for x, y in POINTS:
        last = single.train(x, y)
    assert result["applied"] == len(POINTS)
    assert result["step"] == last["step"] == len(POINTS)
    assert result["loss"] == last["loss"]
    assert (batch.state()["w"], batch.state()["b"]) == (single.state()["w"], single.state()["b"])


def test_divergent_step_is_refused_and_rolled_back():
    learner = LinearLearner(lr=1e30, seed=0)
    learner.train(1.0, 1.0)
    before = learner.state()
    with pytest.raises(DivergenceError, match="non-finite"):
        for _ in range(10):
            learner.train(1000.0, -1000.0)
            before = learner.state()
    after = learner.state()
    assert (after["w"], after["b"], after["step"]) == (before["w"], before["b"], before["step"])
    assert math.isfinite(learner.predict(1.0))
    assert after["refused_steps"] == 1
    assert all(torch.isfinite(p).all() for p in learner.model.parameters())


def test_divergent_batch_applies_no_point():
    learner = LinearLearner(lr=1e30, seed=0)
    before = learner.state()
    with pytest.raises(DivergenceError, match="point"):
        learner.train_many([(1.0, 1.0)] + [(1000.0, -1000.0)] * 10)
    after = learner.state()
    assert (after["w"], after["b"], after["step"]) == (before["w"], before["b"], before["step"])


def test_learning_rate_change_keeps_weights_and_step():
    learner = LinearLearner(lr=0.1, seed=0)
    learner.train_many(POINTS)
    before = learner.state()
    learner.set_lr(0.01)
    after = learner.state()
    assert after["lr"] == 0.01
    assert (after["w"], after["b"], after["step"]) == (before["w"], before["b"], before["step"])
