"""The dashboard against a live learner: clicks and method calls, checked on the plot and the server."""

import math
import struct
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from olearn_helpers.data import LineStream
from olearn_helpers.lifecycle import free_port
from olearn_helpers.plots import LearnerPlot, rolling_mean
from olearn_helpers.widgets import LearnerDashboard

CSS_CLASSES = ["olearn-send", "olearn-stream", "olearn-status", "olearn-plot", "olearn-x",
               "olearn-reset", "olearn-stop", "olearn-lr", "olearn-error"]


@pytest.fixture
def dash(fresh):
    dashboard = LearnerDashboard(fresh, stream=LineStream(seed=0))
    yield dashboard
    dashboard.close()


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def all_widgets(root):
    pending, found = [root], []
    while pending:
        widget = pending.pop()
        found.append(widget)
        pending.extend(getattr(widget, "children", ()))
    return found


def assert_fitted_line_is_the_learners(dash, state):
    line = dash.plot.fitted_line
    x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    assert len(x) == 2
    np.testing.assert_allclose(y, state["w"] * x + state["b"], rtol=1e-12)


def wait_until(condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# ------------------------------------------------------------------ data stream

def test_stream_is_seeded_and_restartable():
    first = LineStream(seed=3).sample(20)
    assert LineStream(seed=3).sample(20) == first
    assert LineStream(seed=4).sample(20) != first
    stream = LineStream(seed=3)
    stream.sample(7)
    stream.restart()
    assert stream.sample(20) == first
    assert all(isinstance(v, float) for point in first for v in point)


def test_stream_points_follow_the_line_within_the_noise():
    stream = LineStream(slope=2.0, intercept=1.0, noise=0.3, x_range=(-3, 3), seed=0)
    xy = np.array(stream.sample(5000))
    assert xy[:, 0].min() >= -3 and xy[:, 0].max() <= 3
    residuals = xy[:, 1] - stream.y(xy[:, 0])
    assert abs(residuals.mean()) < 0.02
    assert residuals.std() == pytest.approx(0.3, rel=0.05)


def test_changing_the_slope_mid_stream_is_concept_drift():
    stream = LineStream(noise=0.0, seed=0)
    before = stream.sample(10)
    stream.slope = -1.0
    after = stream.sample(10)
    assert all(y == pytest.approx(2 * x + 1) for x, y in before)
    assert all(y == pytest.approx(-x + 1) for x, y in after)


@pytest.mark.parametrize("change", [{"noise": -0.1}, {"x_range": (2, 1)}, {"slope": math.nan}])
def test_stream_rejects_impossible_settings(change):
    with pytest.raises(ValueError):
        LineStream(**change)


# ------------------------------------------------------------------------ plot

def test_plot_renders_a_fixed_size_png_and_reuses_its_artists():
    plot = LearnerPlot()
    artists = [plot.points_artist, plot.true_line, plot.fitted_line, plot.loss_line, plot.loss_mean_line]
    sizes = set()
    for n in (0, 1, 50, 3000):
        points = LineStream(seed=0).sample(n)
        plot.update(points, true_line=(2, 1), fitted_line=(1.5, 0.5), losses=np.linspace(5, 0.1, n))
        sizes.add(png_size(plot.to_png()))
    assert sizes == {(720, 288)}
    assert plot.figure.axes == [plot.ax_data, plot.ax_loss]
    assert [plot.points_artist, plot.true_line, plot.fitted_line, plot.loss_line,
            plot.loss_mean_line] == artists
    assert len(plot.points_artist.get_xdata()) == plot.max_points
    assert len(plot.loss_line.get_xdata()) == 3000


def test_blitted_frame_matches_a_full_draw():
    plot = LearnerPlot()
    losses = 10 * np.exp(-np.arange(250) / 40) + 0.05
    plot.update(LineStream(seed=1).sample(250), (2, 1), (1.8, 0.9), losses)
    plot.to_png()
    plot.update(LineStream(seed=2).sample(251), (2, 1), (1.9, 1.0), np.append(losses, 0.06))
    plot.render()
    assert plot.full_draws == 1, "the second frame should reuse the cached background"
    blitted = np.asarray(plot.canvas.buffer_rgba()).copy()
    for artist in plot.figure.findobj(lambda a: a.get_animated()):
        artist.set_animated(False)
    plot.canvas.draw()
    full = np.asarray(plot.canvas.buffer_rgba())
    differing = np.any(blitted != full, axis=2).mean()
    assert differing < 0.01, f"{differing:.2%} of pixels differ from a full draw"


def test_loss_axis_switches_between_log_and_linear():
    plot = LearnerPlot(log_loss=True)
    plot.update(losses=[100.0, 1.0, 0.01])
    plot.to_png()
    assert plot.ax_loss.get_yscale() == "log"
    low, high = plot.ax_loss.get_ylim()
    assert low <= 0.01 and high >= 100
    plot.set_log_loss(False)
    plot.to_png()
    assert plot.ax_loss.get_yscale() == "linear"
    assert plot.ax_loss.get_ylim()[0] == 0


def test_rolling_mean_averages_the_last_window_values():
    values = np.random.default_rng(0).exponential(size=100)
    expected = [values[max(0, i - 19): i + 1].mean() for i in range(100)]
    np.testing.assert_allclose(rolling_mean(values, 20), expected)
    assert rolling_mean([1e300, 1.0, 1.0], 2)[-1] == 1.0


# ------------------------------------------------------------------- dashboard

def test_dashboard_has_findable_controls_and_displays_as_a_widget(dash):
    classes = [c for widget in all_widgets(dash.widget) for c in widget._dom_classes]
    for css_class in CSS_CLASSES:
        assert classes.count(css_class) == 1, css_class
    assert dash.send_button.description == "Send point"
    assert dash.reset_button.description == "Reset model"
    assert dash.lr_slider.description == "learning rate"
    bundle = dash._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == dash.widget.model_id
    assert png_size(dash.image.value) == (720, 288)
    assert (dash.image.layout.width, dash.image.layout.height) == ("720px", "288px")


def test_dashboard_from_a_url_shows_the_learners_state(learner):
    learner.reset()
    state = learner.state()
    dash = LearnerDashboard(learner.url)
    assert dash.learner.url == learner.url
    assert dash.last_error is None and dash.error_area.value == ""
    assert f"step 0 · loss – · w {state['w']:.4g} · b {state['b']:.4g} · lr 0.1" in dash.status.value
    assert_fitted_line_is_the_learners(dash, state)
    dash.close()


def test_send_point_click_trains_on_the_x_slider_point(dash, learner):
    before = learner.state()
    dash.x_slider.value = 1.5
    dash.send_button.click()
    state = learner.state()
    assert state["step"] == 1
    [(x, y)] = dash.points
    assert x == 1.5 and abs(y - dash.data_stream.y(1.5)) < 5 * dash.data_stream.noise
    assert dash.losses == [pytest.approx((before["w"] * x + before["b"] - y) ** 2, rel=1e-5)]
    assert dash.loss_steps == [1]
    assert len(dash.plot.points_artist.get_xdata()) == 1
    assert_fitted_line_is_the_learners(dash, state)
    expected = f"step 1 · loss {state['last_loss']:.4g} · w {state['w']:.4g} · b {state['b']:.4g} · lr 0.1"
    assert expected in dash.status.value


def test_send_point_with_explicit_values(dash, learner):
    result = dash.send_point(-2.0, -3.0)
    assert result["step"] == 1
    assert dash.points == [(-2.0, -3.0)]
    assert dash.losses == [result["loss"]]


def test_stream_fits_the_line_and_the_loss_falls(dash, learner):
    summary = dash.stream(400)
    state = learner.state()
    assert summary["points_sent"] == 400 and summary["step"] == 400 == state["step"]
    assert summary["error"] is None and not summary["stopped"]
    assert summary["frames"] >= 1 and summary["fps"] > 0
    assert len(dash.points) == len(dash.losses) == 400
    assert dash.loss_steps == list(range(1, 401))
    assert dash.progress.value == 400
    assert len(dash.plot.points_artist.get_xdata()) == min(400, dash.plot.max_points)
    assert list(dash.plot.loss_line.get_xdata()) == dash.loss_steps
    assert_fitted_line_is_the_learners(dash, state)
    assert state["w"] == pytest.approx(2.0, abs=0.3) and state["b"] == pytest.approx(1.0, abs=0.3)
    assert np.mean(dash.losses[-100:]) < np.mean(dash.losses[:10]) / 10
    assert f"step 400 · " in dash.status.value


@pytest.mark.parametrize("batch_size", [1, 10])
def test_streamed_losses_are_the_learners_own_per_step_losses(dash, learner, batch_size):
    dash.stream(30, batch_size=batch_size)
    client_side = list(dash.losses)
    learner.reset()
    server_side = [learner.train(x, y)["loss"] for x, y in dash.points]
    np.testing.assert_allclose(client_side, server_side, rtol=1e-6)
    assert dash.loss_steps == list(range(1, 31))


def test_stream_button_runs_in_the_background(dash, learner):
    dash.count_input.value = 300
    dash.stream_button.click()
    assert dash.streaming or dash.last_summary is not None
    summary = dash.wait(timeout=60)
    assert summary["points_sent"] == 300 and learner.state()["step"] == 300
    assert dash.progress.value == 300
    assert not dash.streaming
    assert not dash.send_button.disabled and not dash.stream_button.disabled and dash.stop_button.disabled


def test_stop_button_ends_a_stream_between_batches(dash, learner):
    dash.count_input.value = 100_000
    dash.stream_button.click()
    wait_until(lambda: len(dash.points) >= 50)
    assert not dash.stop_button.disabled and dash.send_button.disabled
    assert dash.stream(10)["error"] and "already running" in dash.error_area.value
    dash.stop_button.click()
    summary = dash.wait(timeout=30)
    assert summary["stopped"]
    assert 50 <= summary["points_sent"] < 100_000
    assert summary["points_sent"] % dash.batch_size == 0
    assert learner.state()["step"] == len(dash.points) == summary["points_sent"]
    assert dash.stop_button.disabled


def test_learning_rate_changes_live_and_keeps_weights_and_step(dash, learner):
    dash.stream(50)
    before = learner.state()
    dash.lr_slider.value = 0.01
    after = learner.state()
    assert after["lr"] == pytest.approx(0.01)
    assert (after["w"], after["b"], after["step"]) == (before["w"], before["b"], before["step"])
    assert "lr 0.01" in dash.status.value
    assert dash.stream(50)["step"] == 100
    assert dash.loss_steps == list(range(1, 101))


def test_an_invalid_learning_rate_is_refused_and_shown(dash, learner):
    assert dash.set_lr(-1.0) is None
    assert "lr" in dash.last_error and "422" in dash.error_area.value
    assert learner.state()["lr"] == pytest.approx(0.1)
    assert dash.lr_slider.value == pytest.approx(0.1)


def test_a_refused_step_shows_in_the_error_area(dash, learner):
    dash.lr_slider.value = 10.0
    summary = dash.stream(300)
    state = learner.state()
    assert "refused" in summary["error"]
    assert "step refused" in dash.error_area.value and "lower the learning rate" in dash.error_area.value
    assert dash.last_error == dash.errors[-1]
    assert state["refused_steps"] >= 1
    assert math.isfinite(state["w"]) and math.isfinite(state["b"])
    assert summary["points_sent"] < 300
    assert len(dash.points) == state["step"], "points of a refused batch are not in the history"
    assert f"refused steps {state['refused_steps']}" in dash.status.value
    dash.lr_slider.value = 0.1
    assert dash.error_area.value == "" and dash.last_error is None


def test_reset_button_clears_the_history_and_restarts_the_model(dash, learner):
    initial = learner.state()
    dash.stream(100)
    dash.reset_button.click()
    state = learner.state()
    assert state["step"] == 0 and (state["w"], state["b"]) == (initial["w"], initial["b"])
    assert dash.points == [] and dash.losses == [] and dash.loss_steps == []
    assert len(dash.plot.points_artist.get_xdata()) == 0 and len(dash.plot.loss_line.get_xdata()) == 0
    assert dash.progress.value == 0
    assert "step 0 · " in dash.status.value
    assert_fitted_line_is_the_learners(dash, state)


def test_reset_during_a_background_stream_stops_it_first(dash, learner):
    dash.stream_async(100_000)
    wait_until(lambda: len(dash.points) >= 20)
    dash.reset_button.click()
    assert not dash.streaming
    assert learner.state()["step"] == 0 and dash.points == []


def test_reset_replays_the_same_data(dash):
    dash.stream(50)
    first = list(dash.points)
    dash.reset()
    dash.stream(50)
    assert dash.points == first


def test_moving_the_true_line_is_drawn_and_the_model_follows(dash, learner):
    dash.stream(300)
    dash.set_true_line(slope=-1.0, intercept=2.0)
    assert (dash.slope_slider.value, dash.intercept_slider.value) == (-1.0, 2.0)
    assert (dash.data_stream.slope, dash.data_stream.intercept) == (-1.0, 2.0)
    line = dash.plot.true_line
    np.testing.assert_allclose(line.get_ydata(), -1.0 * np.asarray(line.get_xdata()) + 2.0)
    dash.stream(600)
    state = learner.state()
    assert state["w"] == pytest.approx(-1.0, abs=0.3) and state["b"] == pytest.approx(2.0, abs=0.3)
    with pytest.raises(ValueError, match="true slope"):
        dash.set_true_line(slope=99)


def test_slope_slider_changes_the_stream(dash):
    dash.slope_slider.value = 0.5
    dash.noise_slider.value = 0.0
    assert dash.data_stream.slope == 0.5
    dash.send_point(x=2.0)
    assert dash.points == [(2.0, pytest.approx(0.5 * 2.0 + 1.0))]


def test_log_scale_checkbox_redraws_the_loss_axis(dash):
    dash.stream(40)
    frame = dash.image.value
    dash.log_checkbox.value = False
    assert dash.plot.ax_loss.get_yscale() == "linear"
    assert dash.image.value != frame


def test_unexpected_errors_in_a_click_show_in_the_dashboard(dash, monkeypatch):
    def broken(x):
        raise RuntimeError("the data stream broke")

    monkeypatch.setattr(dash.data_stream, "noisy_y", broken)
    dash.send_button.click()
    assert "RuntimeError: the data stream broke" in dash.error_area.value
    assert dash.points == []


def test_no_learner_shows_an_error_instead_of_failing():
    url = f"http://127.0.0.1:{free_port()}"
    dash = LearnerDashboard(url)
    assert "no learner answers" in dash.error_area.value
    assert "no learner state" in dash.status.value
    assert dash.send_point(1.0, 3.0) is None
    assert dash.stream(20)["points_sent"] == 0
    assert dash.points == [] and len(dash.errors) == 3
    assert png_size(dash.image.value) == (720, 288)
    dash.close()
