"""The HTTP learner: validation, rollback, the seed's query form, batches, concurrency."""

import json

import pytest
import requests

from olearn_helpers import InvalidInput, StepRefused
from olearn_helpers.lessons import many_writers
from olearn_helpers.server import MAX_BATCH


def weights(learner):
    state = learner.state()
    return state["w"], state["b"], state["step"]


BAD_BODIES = [
    ("/train", {"x": "abc", "y": 1.0}, "x"),
    ("/train", {"x": 1.0}, "y"),
    ("/train", {"y": 1.0}, "x"),
    ("/train", {"x": 1e9, "y": 1.0}, "x"),
    ("/train", {"x": 1.0, "y": -1e300}, "y"),
    ("/train", {"x": [1.0], "y": 1.0}, "x"),
    ("/train", {"x": None, "y": 1.0}, "x"),
    ("/train", {"x": 1.0, "y": 2.0, "z": 3.0}, "z"),
    ("/predict", {"x": "1,5"}, "x"),
    ("/predict", {}, "x"),
    ("/train_batch", {"points": [[1.0, 2.0], [3.0, "a"]]}, "points[1][1]"),
    ("/train_batch", {"points": [[1.0, 2.0, 3.0]]}, "points[0]"),
    ("/train_batch", {"points": "nope"}, "points"),
    ("/train_batch", {}, "points"),
    ("/config", {"lr": -1}, "lr"),
    ("/config", {"lr": 0}, "lr"),
]


@pytest.mark.parametrize("path,body,field", BAD_BODIES)
def test_bad_input_is_422_naming_the_field_and_model_untouched(fresh, path, body, field):
    fresh.train(1.0, 2.0)
    before = weights(fresh)
    response = requests.post(fresh.url + path, json=body, timeout=10)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(field + ":")
    assert weights(fresh) == before


@pytest.mark.parametrize("raw", ['{"x": NaN, "y": 1}', '{"x": 1, "y": Infinity}', '{"x": -Infinity, "y": 1}'])
def test_non_finite_json_numbers_are_refused(fresh, raw):
    before = weights(fresh)
    response = requests.post(fresh.url + "/train", data=raw, headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == 422
    assert "finite" in response.json()["detail"]
    assert weights(fresh) == before
    assert isinstance(fresh.predict(1.0), float)


def test_malformed_json_is_422(fresh):
    response = requests.post(fresh.url + "/train", data="{x: 1", headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


def test_oversized_batch_is_refused_whole(fresh):
    before = weights(fresh)
    with pytest.raises(InvalidInput, match="points"):
        fresh.train_many([(0.0, 0.0)] * (MAX_BATCH + 1))
    assert weights(fresh) == before


def test_client_raises_with_the_server_message(fresh):
    with pytest.raises(InvalidInput, match=r"x: Input should be a finite number"):
        fresh.train(float("nan"), 1.0)


def test_seed_query_parameter_calls_still_work(fresh):
    trained = requests.post(fresh.url + "/train", params={"x": 1.0, "y": 3.0}, timeout=10)
    assert trained.status_code == 200 and trained.json()["step"] == 1
    predicted = requests.post(fresh.url + "/predict", params={"x": 1.0}, timeout=10)
    assert predicted.json()["prediction"] == pytest.approx(fresh.predict(1.0))
    refused = requests.post(fresh.url + "/train", params={"x": "nan", "y": 3.0}, timeout=10)
    assert refused.status_code == 422 and refused.json()["detail"].startswith("x:")


def test_divergent_step_is_409_and_keeps_last_good_weights(fresh):
    fresh.set_lr(90.0)
    last_good = weights(fresh)
    with pytest.raises(StepRefused, match="non-finite"):
        for _ in range(50):
            fresh.train(900.0, -900.0)
            last_good = weights(fresh)
    assert weights(fresh) == last_good
    assert fresh.state()["refused_steps"] == 1
    fresh.set_lr(0.1)
    fresh.reset()
    assert fresh.train(1.0, 3.0)["step"] == 1


def test_batch_gives_the_same_weights_as_one_by_one(fresh):
    points = [(0.1 * i - 1.0, 0.3 * i + 0.5) for i in range(40)]
    batch = fresh.train_many(points)
    after_batch = weights(fresh)
    fresh.reset()
    for x, y in points:
        single = fresh.train(x, y)
    assert weights(fresh) == after_batch
    assert (batch["applied"], batch["step"], batch["loss"]) == (40, 40, single["loss"])


def test_concurrent_clients_lose_no_step_and_match_a_sequential_replay(fresh):
    """32 threads x 50 /train calls: every call answers, the step count is exact and
    replaying the points in the order the server applied them gives the same weights."""
    outcome = many_writers(fresh, clients=32, points_each=50)
    assert outcome == {"requests": 1600, "errors": 0, "distinct_steps": 1600, "final_step": 1600,
                       "replay_matches": True}


def test_state_reports_what_the_lessons_need(fresh):
    state = fresh.state()
    assert {"w", "b", "step", "lr", "seed", "last_loss", "refused_steps", "deployed_with"} <= state.keys()
    assert json.dumps(state)


def test_learning_rate_changes_live_without_losing_weights(fresh):
    fresh.train_many([(1.0, 3.0), (2.0, 5.0)])
    before = weights(fresh)
    assert fresh.set_lr(0.02)["lr"] == 0.02
    assert weights(fresh) == before


def test_batch_reports_each_points_loss_before_its_step(fresh):
    points = [(1.0, 3.0), (2.0, 5.0), (-1.0, -1.0)]
    batch = fresh.train_many(points)
    fresh.reset()
    assert batch["losses"] == [fresh.train(x, y)["loss"] for x, y in points]


def test_no_body_and_no_query_names_the_missing_fields(fresh):
    response = requests.post(fresh.url + "/train", timeout=10)
    assert response.status_code == 422
    assert response.json()["detail"] == "x: Field required; y: Field required"
