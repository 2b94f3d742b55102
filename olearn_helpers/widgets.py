"""`LearnerDashboard`: sliders and buttons that feed a live learner and show it learn.

The dashboard talks to a learner over HTTP, so it accepts a `LearnerClient`
or just a URL: several notebooks, or a learner started in a terminal with
`python -m olearn_helpers serve`, can share one learner.

Every control is a plain method (`send_point`, `stream`, `stop`, `set_lr`,
`reset`, `set_true_line`, `refresh`); a button click calls the same method,
so a notebook run top to bottom exercises the same path as a click. Server
errors (a refused step, bad input, no learner) are caught and shown in the
dashboard's error area and kept in `dash.errors`; they never disappear
silently.

Example (needs a running learner):
    >>> from olearn_helpers import start_learner
    >>> from olearn_helpers.widgets import LearnerDashboard
    >>> dash = LearnerDashboard(start_learner())          # doctest: +SKIP
    >>> dash                                              # doctest: +SKIP
    >>> dash.stream(500)["points_sent"]                   # doctest: +SKIP
    500
"""

from __future__ import annotations

import html
import math
import threading
import time
from typing import Callable

import ipywidgets as widgets

from .client import LearnerClient, LearnerError, StepRefused
from .data import LineStream
from .plots import LearnerPlot

FRAME_INTERVAL_S = 1 / 15
DEFAULT_BATCH_SIZE = 10
MAX_ERRORS_KEPT = 50
#: How long reset() and close() wait for a stopped stream's last request.
STOP_TIMEOUT_S = 60.0

COLUMN = widgets.Layout(width="240px")
CONTROL = widgets.Layout(width="232px")
HALF_BUTTON = widgets.Layout(width="113px")
DESCRIPTION = {"description_width": "74px"}


def after_training(state: dict, answer: dict) -> dict:
    """The learner's state after a training answer, which carries the new weights and step.

    Example:
        >>> after_training({"w": 0.0, "b": 0.0, "step": 3, "lr": 0.1, "last_loss": 1.0},
        ...                {"w": 0.5, "b": 0.2, "step": 4, "loss": 0.9})["step"]
        4
    """
    return {**state, "w": answer["w"], "b": answer["b"], "step": answer["step"], "last_loss": answer["loss"]}


def four_digits(value: float | None) -> str:
    """A number rounded to 4 significant digits, or a dash when there is none.

    Example:
        >>> four_digits(1.98765), four_digits(0.1), four_digits(None)
        ('1.988', '0.1', '–')
    """
    return "–" if value is None else f"{value:.4g}"


class LearnerDashboard:
    """Teach online learning live: send points to a learner and watch the line fit.

    Args:
        learner_or_url: a `LearnerClient` or the learner's URL ("http://127.0.0.1:8000").
        stream: where new points come from, kept as `dash.data_stream`
            (default: `LineStream()`, y = 2x + 1 + noise).
        batch_size: points per `/train_batch` request when streaming.

    Loss history: the dashboard keeps every point it sent and the loss of each
    step, client-side. The loss of a step is the squared error of the
    prediction made *before* the model learned from that point (test, then
    train), exactly as the learner reports it: `/train_batch` answers with
    each point's loss in `losses`.

    Example (needs a running learner):
        >>> dash = LearnerDashboard("http://127.0.0.1:8000")           # doctest: +SKIP
        >>> dash.send_point(1.0, 3.0)["step"]                         # doctest: +SKIP
        1
        >>> dash.stream(200)["points_sent"], len(dash.losses)         # doctest: +SKIP
        (200, 201)
        >>> dash.set_lr(0.01)["lr"]                                   # doctest: +SKIP
        0.01
        >>> dash.reset()["step"], len(dash.points)                    # doctest: +SKIP
        (0, 0)
    """

    def __init__(
        self,
        learner_or_url: LearnerClient | str,
        stream: LineStream | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if isinstance(learner_or_url, LearnerClient):
            self.learner = learner_or_url
        else:
            self.learner = LearnerClient(str(learner_or_url))
        self.data_stream = stream if stream is not None else LineStream()
        self.batch_size = batch_size
        low, high = self.data_stream.x_range
        margin = 0.1 * (high - low)
        self.plot = LearnerPlot(x_limits=(low - margin, high + margin))

        self.points: list[tuple[float, float]] = []
        self.losses: list[float] = []
        self.loss_steps: list[int] = []
        self.state: dict | None = None
        self.errors: list[str] = []
        self.last_error: str | None = None
        self._last_failure: LearnerError | None = None
        self.last_summary: dict | None = None

        self._lock = threading.RLock()
        self._stop_requested = threading.Event()
        self._streaming = False
        self._worker: threading.Thread | None = None
        self._build_widgets()
        self.refresh()

    # ----------------------------------------------------------------- widgets

    def _build_widgets(self) -> None:
        stream = self.data_stream
        self.slope_slider = widgets.FloatSlider(
            value=stream.slope, min=min(-4.0, stream.slope), max=max(4.0, stream.slope), step=0.1,
            description="true slope", style=DESCRIPTION, layout=CONTROL)
        self.intercept_slider = widgets.FloatSlider(
            value=stream.intercept, min=min(-4.0, stream.intercept), max=max(4.0, stream.intercept),
            step=0.1, description="intercept", style=DESCRIPTION, layout=CONTROL)
        self.noise_slider = widgets.FloatSlider(
            value=stream.noise, min=0.0, max=max(2.0, stream.noise), step=0.05,
            description="noise", style=DESCRIPTION, layout=CONTROL)
        low, high = stream.x_range
        self.x_slider = widgets.FloatSlider(
            value=min(max(1.0, low), high), min=low, max=high, step=0.1,
            description="point x", style=DESCRIPTION, layout=CONTROL)
        self.send_button = widgets.Button(
            description="Send point", icon="paper-plane", button_style="primary", layout=CONTROL,
            tooltip="train on one point at x (y = true line + noise)")
        self.count_input = widgets.BoundedIntText(
            value=200, min=1, max=100_000, description="N points", style=DESCRIPTION, layout=CONTROL)
        self.stream_button = widgets.Button(
            description="Stream N", icon="play", button_style="success", layout=HALF_BUTTON,
            tooltip="stream N points from the true line")
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", button_style="warning", layout=HALF_BUTTON,
            disabled=True, tooltip="stop the stream after the current batch")
        self.progress = widgets.IntProgress(
            value=0, min=0, max=self.count_input.value, description="streamed",
            style=DESCRIPTION, layout=CONTROL)
        self.lr_slider = widgets.FloatLogSlider(
            value=0.1, base=10, min=-4, max=1, step=0.1, readout_format=".3g",
            continuous_update=False, description="learning rate", style={"description_width": "90px"},
            layout=CONTROL)
        self.log_checkbox = widgets.Checkbox(
            value=self.plot.log_loss, description="log-scale loss", indent=False, layout=CONTROL)
        self.reset_button = widgets.Button(
            description="Reset model", icon="undo", button_style="danger", layout=CONTROL,
            tooltip="initial weights, step 0, clear the history")
        width, height = self.plot.size_px
        self.image = widgets.Image(
            format="png", layout=widgets.Layout(width=f"{width}px", height=f"{height}px"))
        self.status = widgets.HTML(layout=widgets.Layout(width=f"{width}px", height="28px"))
        self.error_area = widgets.HTML(
            layout=widgets.Layout(width=f"{width}px", height="40px", overflow="auto"))

        css_classes = {
            self.send_button: "olearn-send", self.stream_button: "olearn-stream",
            self.stop_button: "olearn-stop", self.reset_button: "olearn-reset",
            self.status: "olearn-status", self.image: "olearn-plot", self.x_slider: "olearn-x",
            self.lr_slider: "olearn-lr", self.error_area: "olearn-error",
            self.slope_slider: "olearn-slope", self.intercept_slider: "olearn-intercept",
            self.noise_slider: "olearn-noise", self.count_input: "olearn-count",
            self.progress: "olearn-progress", self.log_checkbox: "olearn-log",
        }
        for widget, css_class in css_classes.items():
            widget.add_class(css_class)

        def heading(text: str) -> widgets.HTML:
            return widgets.HTML(f"<b style='font-size:15px'>{text}</b>", layout=CONTROL)

        columns = widgets.HBox([
            widgets.VBox([heading("Data: the true line"), self.slope_slider, self.intercept_slider,
                          self.noise_slider], layout=COLUMN),
            widgets.VBox([heading("Send data"), self.x_slider, self.send_button, self.count_input,
                          widgets.HBox([self.stream_button, self.stop_button], layout=CONTROL),
                          self.progress], layout=COLUMN),
            widgets.VBox([heading("Model"), self.lr_slider, self.log_checkbox, self.reset_button],
                         layout=COLUMN),
        ])
        self.widget = widgets.VBox(
            [self.image, self.status, self.error_area, columns],
            layout=widgets.Layout(width=f"{width + 20}px"))
        self.widget.add_class("olearn-dashboard")

        self.send_button.on_click(lambda _: self._guarded(self.send_point))
        self.stream_button.on_click(lambda _: self._guarded(self.stream_async))
        self.stop_button.on_click(lambda _: self._guarded(self.stop))
        self.reset_button.on_click(lambda _: self._guarded(self.reset))
        for slider in (self.slope_slider, self.intercept_slider, self.noise_slider):
            slider.observe(lambda _: self._guarded(self._true_line_changed), names="value")
        self.lr_slider.observe(lambda change: self._guarded(self._lr_slider_moved, change.new), names="value")
        self.log_checkbox.observe(lambda change: self._guarded(self._log_scale_changed, change.new),
                                  names="value")

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = repr(self)  # the widget's own repr embeds the PNG bytes
        return bundle

    def snapshot(self):
        """The current frame as a static image, so a saved notebook shows it without a kernel."""
        from IPython.display import Image

        with self._lock:
            return Image(data=self.plot.to_png(), format="png")

    def __repr__(self) -> str:
        step = self.state["step"] if self.state else "?"
        return f"LearnerDashboard({self.learner.url!r}, step={step}, points={len(self.points)})"

    # ------------------------------------------------------------------ errors

    def _show_error(self, message: str) -> None:
        self.last_error = message
        self.errors = (self.errors + [message])[-MAX_ERRORS_KEPT:]
        self.error_area.value = (
            "<div style='color:#b00020;font-size:14px;line-height:1.35'>"
            f"<b>⚠ Error:</b> {html.escape(message)}</div>")

    def _clear_error(self) -> None:
        self.last_error = None
        self.error_area.value = ""

    def _call(self, request: Callable, *args):
        """Run one learner request; on a LearnerError show it and return None."""
        try:
            return request(*args)
        except LearnerError as error:
            self._show_error(str(error))
            self._last_failure = error
            return None

    def _guarded(self, action: Callable, *args) -> None:
        """Run a widget callback; any exception shows in the error area instead of a hidden log."""
        try:
            action(*args)
        except Exception as error:
            self._show_error(f"{type(error).__name__}: {error}")

    # ----------------------------------------------------------------- drawing

    def _status_text(self) -> str:
        if self.state is None:
            return f"no learner state from {self.learner.url}"
        state = self.state
        text = (f"step {state['step']} · loss {four_digits(state['last_loss'])} · "
                f"w {four_digits(state['w'])} · b {four_digits(state['b'])} · lr {four_digits(state['lr'])}")
        if state.get("refused_steps"):
            text += f" · refused steps {state['refused_steps']}"
        return text

    def _remember_state(self, state: dict | None) -> None:
        if state is None:
            return
        self.state = state
        lr = state["lr"]
        if not math.isclose(self.lr_slider.value, lr, rel_tol=1e-9):
            # widen the slider first: a clamped value would be sent back as a new lr
            exponent = math.log10(lr)
            self.lr_slider.min = min(self.lr_slider.min, math.floor(exponent))
            self.lr_slider.max = max(self.lr_slider.max, math.ceil(exponent))
            self.lr_slider.value = lr

    def redraw(self, state: dict | None = None) -> None:
        """Draw a frame from the history and `state` (default: the last state read)."""
        with self._lock:
            self._remember_state(state)
            fitted = (self.state["w"], self.state["b"]) if self.state else None
            self.plot.update(points=self.points, true_line=(self.data_stream.slope, self.data_stream.intercept),
                             fitted_line=fitted, losses=self.losses, steps=self.loss_steps)
            self.image.value = self.plot.to_png()
            self.status.value = (
                "<span style='font-family:monospace;font-size:15px'>"
                f"{html.escape(self._status_text())}</span>")

    def refresh(self) -> dict | None:
        """Read the learner's state (another client may have trained it) and redraw."""
        self._clear_error()
        state = self._call(self.learner.state)
        self.redraw(state)
        return state

    # ---------------------------------------------------------------- actions

    def send_point(self, x: float | None = None, y: float | None = None) -> dict | None:
        """Train on one point; default x is the x slider, default y the true line plus noise.

        Returns the learner's answer (`{"loss", "step", ...}`), or None if it
        refused (the error shows in the dashboard).
        """
        self._clear_error()
        x = self.x_slider.value if x is None else float(x)
        y = self.data_stream.noisy_y(x) if y is None else float(y)
        result = self._call(self.learner.train, x, y)
        if result is None:
            self.redraw(self._refused_state())
            return None
        with self._lock:
            self.points.append((x, y))
            self.losses.append(result["loss"])
            self.loss_steps.append(result["step"])
        self.redraw(self._call(self.learner.state))
        return result

    @property
    def streaming(self) -> bool:
        return self._streaming

    def _begin_stream(self, n: int) -> bool:
        with self._lock:
            if self._streaming:
                self._show_error("a stream is already running; press Stop or call dash.stop() first")
                return False
            self._streaming = True
            self._stop_requested.clear()
        self.progress.max = max(n, 1)
        self.progress.value = 0
        self.send_button.disabled = self.stream_button.disabled = True
        self.stop_button.disabled = False
        return True

    def _end_stream(self) -> None:
        self.send_button.disabled = self.stream_button.disabled = False
        self.stop_button.disabled = True
        with self._lock:
            self._streaming = False

    def _stream_arguments(self, n: int | None, batch_size: int | None) -> tuple[int, int]:
        n = self.count_input.value if n is None else int(n)
        batch_size = self.batch_size if batch_size is None else int(batch_size)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        return n, batch_size

    def stream(self, n: int | None = None, batch_size: int | None = None) -> dict:
        """Stream `n` points (default: the N box) in batches and return a summary.

        Runs in the caller until done or stopped: a frame is drawn at most every
        1/15 s and once at the end; the stop flag is checked between batches.
        The loss plot's step axis spans the whole planned stream from the start.
        Returns `{"points_sent", "step", "final_loss", "frames", "seconds",
        "fps", "draw_seconds", "stopped", "error"}`.
        """
        n, batch_size = self._stream_arguments(n, batch_size)
        if not self._begin_stream(n):
            return self._summary(0, 0, 0.0, 0.0, stopped=False, error=self.last_error)
        try:
            self.last_summary = self._run_stream(n, batch_size)
        finally:
            self._end_stream()
        return self.last_summary

    def stream_async(self, n: int | None = None, batch_size: int | None = None) -> threading.Thread | None:
        """Start `stream(n)` in a background thread (what the Stream button does).

        The kernel stays free to handle the Stop button. `wait()` joins the
        thread and returns the summary.
        """
        n, batch_size = self._stream_arguments(n, batch_size)
        if not self._begin_stream(n):
            return None

        def work() -> None:
            try:
                self.last_summary = self._run_stream(n, batch_size)
            except Exception as error:
                self._show_error(f"{type(error).__name__}: {error}")
            finally:
                self._end_stream()

        self._worker = threading.Thread(target=work, name="olearn-dashboard-stream", daemon=True)
        self._worker.start()
        return self._worker

    def wait(self, timeout: float | None = None) -> dict | None:
        """Wait for a background stream to finish; return its summary."""
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
            if worker.is_alive():
                raise TimeoutError(f"the stream is still running after {timeout} s")
        return self.last_summary

    def stop(self) -> None:
        """Ask a running stream to stop after its current batch."""
        self._stop_requested.set()

    def _summary(self, sent: int, frames: int, seconds: float, draw_seconds: float,
                 stopped: bool, error: str | None) -> dict:
        return {
            "points_sent": sent,
            "step": self.state["step"] if self.state else None,
            "final_loss": self.losses[-1] if self.losses else None,
            "frames": frames,
            "seconds": seconds,
            "fps": frames / seconds if seconds > 0 else 0.0,
            "draw_seconds": draw_seconds,
            "stopped": stopped,
            "error": error,
        }

    def _run_stream(self, n: int, batch_size: int) -> dict:
        self._clear_error()
        started = time.perf_counter()
        sent = frames = 0
        draw_seconds = 0.0
        last_frame = -math.inf

        def draw(state: dict | None) -> None:
            nonlocal frames, draw_seconds, last_frame
            last_frame = time.perf_counter()
            self.redraw(state)
            frames += 1
            draw_seconds += time.perf_counter() - last_frame

        state = self._call(self.learner.state)
        if state is not None:
            with self._lock:
                self.plot.step_horizon = state["step"] + n
        while state is not None and sent < n and not self._stop_requested.is_set():
            batch = self.data_stream.sample(min(batch_size, n - sent))
            result = self._call(self.learner.train_many, batch)
            if result is None:
                state = self._refused_state() or state
                break
            first_step = result["step"] - result["applied"] + 1
            with self._lock:
                self.points.extend(batch)
                self.losses.extend(result["losses"])
                self.loss_steps.extend(range(first_step, result["step"] + 1))
            sent += len(batch)
            self.progress.value = sent
            state = after_training(state, result)
            if time.perf_counter() - last_frame >= FRAME_INTERVAL_S:
                draw(state)
        if state is not None:
            state = self._call(self.learner.state) or state  # lr or refusals another client changed
        draw(state)
        return self._summary(sent, frames, time.perf_counter() - started, draw_seconds,
                             stopped=self._stop_requested.is_set(), error=self.last_error)

    def _refused_state(self) -> dict | None:
        """After a refused step, read the state (refused count) without hiding the refusal."""
        if not isinstance(self._last_failure, StepRefused):
            return None
        message = self.last_error
        try:
            return self.learner.state()
        except LearnerError as error:
            self._show_error(f"{message}; then: {error}")
            return None

    def set_lr(self, lr: float) -> dict | None:
        """Change the live model's learning rate; weights and step count stay."""
        self._clear_error()
        state = self._call(self.learner.set_lr, float(lr))
        if state is None:
            self._remember_state(self.state)  # the slider goes back to the learner's lr
        elif self._streaming:
            self._remember_state(state)
        else:
            self.redraw(state)
        return state

    def reset(self) -> dict | None:
        """Stop any stream, reset the model (initial weights, step 0), clear the history.

        The data stream restarts from its seed too, so the same actions after a
        reset give the same run.
        """
        self.stop()
        self.wait(timeout=STOP_TIMEOUT_S)
        self._clear_error()
        state = self._call(self.learner.reset)
        if state is None:
            return None
        with self._lock:
            self.points.clear()
            self.losses.clear()
            self.loss_steps.clear()
            self.plot.step_horizon = None
            self.data_stream.restart()
        self.progress.value = 0
        self.redraw(state)
        return state

    def set_true_line(self, slope: float | None = None, intercept: float | None = None,
                      noise: float | None = None) -> None:
        """Move the true line (concept drift) and/or change the noise; sliders follow."""
        changes = [(self.slope_slider, slope), (self.intercept_slider, intercept), (self.noise_slider, noise)]
        for slider, value in changes:
            if value is not None and not slider.min <= value <= slider.max:
                raise ValueError(
                    f"{slider.description} must be in [{slider.min:g}, {slider.max:g}], got {value}")
        for slider, value in changes:
            if value is not None:
                slider.value = float(value)

    # -------------------------------------------------------- slider callbacks

    def _true_line_changed(self) -> None:
        self.data_stream.slope = self.slope_slider.value
        self.data_stream.intercept = self.intercept_slider.value
        self.data_stream.noise = self.noise_slider.value
        if not self._streaming:
            self.redraw()

    def _lr_slider_moved(self, lr: float) -> None:
        if self.state is not None and math.isclose(lr, self.state["lr"], rel_tol=1e-9):
            return
        self.set_lr(lr)

    def _log_scale_changed(self, log: bool) -> None:
        with self._lock:
            self.plot.set_log_loss(log)
        if not self._streaming:
            self.redraw()

    def close(self) -> None:
        """Stop any stream and close the widgets."""
        self.stop()
        self.wait(timeout=STOP_TIMEOUT_S)
        pending = [self.widget]
        while pending:
            widget = pending.pop()
            pending.extend(getattr(widget, "children", ()))
            widget.close()
