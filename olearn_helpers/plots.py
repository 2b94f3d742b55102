"""`LearnerPlot`: the dashboard's figure, drawn off-screen to PNG bytes.

One fixed-size figure with two axes. Left: the points received so far, the
true line and the fitted line w*x + b, with fixed limits so nothing jumps.
Right: the loss of every step and its rolling mean, on a log or linear scale.

The artists are created once; `update` only changes their data. Rendering
blits: the axes, ticks, titles and the (opaque) legends are drawn once and
cached, and each frame draws only the data artists onto the cached
background and pastes the cached legends back on top, the order a full draw
uses. The cache is redrawn only when the loss axis limits move to the next
round value, which happens a handful of times per stream.

Not thread-safe: call it from one thread at a time.

Example:
    >>> plot = LearnerPlot()
    >>> plot.update(points=[(0.0, 1.1), (1.0, 2.9)], true_line=(2.0, 1.0),
    ...             fitted_line=(1.5, 0.5), losses=[4.0, 2.5])
    >>> plot.fitted_line.get_ydata().tolist()
    [-4.75, 5.75]
    >>> png = plot.to_png()
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n", plot.size_px
    (True, (720, 288))
"""

from __future__ import annotations

import io
import math
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

POINT_COLOR = "#4C72B0"
MODEL_COLOR = "#DD8452"
LOSS_COLOR = "#9A9A9A"
LOSS_MEAN_COLOR = "#1F3A93"
#: Finer steps for the step axis, so it is never more than 1.5 times too long.
STEP_MANTISSAS = (1, 1.5, 2, 3, 4, 5, 6, 8)
#: Where a log loss axis starts; it widens to fit the data.
DEFAULT_LOG_LOSS_LIMITS = (1e-4, 1e2)


def nice_ceiling(value: float, mantissas: Sequence[float] = (1, 2, 5)) -> float:
    """The smallest round number >= `value` (> 0): a mantissa times a power of ten.

    Example:
        >>> [nice_ceiling(v) for v in (0.3, 7, 10, 11, 240)]
        [0.5, 10, 10, 20, 500]
        >>> nice_ceiling(2001, mantissas=STEP_MANTISSAS)
        3000
    """
    exponent = math.floor(math.log10(value))
    for mantissa in (*mantissas, 10):
        candidate = mantissa * 10.0**exponent
        if candidate >= value * (1 - 1e-12):
            return int(candidate) if candidate == int(candidate) else candidate
    raise ValueError(f"mantissas must lie in [1, 10), got {mantissas}")


def rolling_mean(values: Sequence[float], window: int) -> np.ndarray:
    """Mean of the last `window` values at every position (fewer at the start).

    Computed window by window, not from a running sum, so a huge early loss
    does not leave rounding error in the later, small means.

    Example:
        >>> rolling_mean([4.0, 2.0, 0.0, 2.0], window=2).tolist()
        [4.0, 3.0, 1.0, 1.0]
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return values
    head = np.cumsum(values[: window - 1]) / np.arange(1, min(window - 1, len(values)) + 1)
    if len(values) < window:
        return head
    full = np.lib.stride_tricks.sliding_window_view(values, window).mean(axis=1)
    return np.concatenate([head, full])


class LearnerPlot:
    """Points, true line and fitted line on the left; loss per step on the right.

    Args:
        x_limits, y_limits: fixed limits of the left axes.
        loss_window: how many steps the rolling mean of the loss averages.
        log_loss: start with a log-scale loss axis.
        max_points: show only the most recent points (all are counted in the legend).
        size_in, dpi: figure size; 8 x 3.2 in at 90 dpi is 720 x 288 pixels.

    Example:
        >>> plot = LearnerPlot(max_points=2)
        >>> plot.update(points=[(0, 0), (1, 1), (2, 2)])
        >>> plot.points_artist.get_xdata().tolist()
        [1.0, 2.0]
    """

    def __init__(
        self,
        x_limits: tuple[float, float] = (-3.5, 3.5),
        y_limits: tuple[float, float] = (-12.0, 12.0),
        loss_window: int = 20,
        log_loss: bool = True,
        max_points: int = 500,
        size_in: tuple[float, float] = (8.0, 3.2),
        dpi: int = 90,
    ):
        if loss_window < 1 or max_points < 1:
            raise ValueError("loss_window and max_points must be >= 1")
        self.x_limits = tuple(x_limits)
        self.y_limits = tuple(y_limits)
        self.loss_window = loss_window
        self.max_points = max_points
        #: Extend the step axis to at least this step (e.g. the end of a planned stream).
        self.step_horizon: int | None = None
        self._sticky_ylim: tuple[float, float] | None = None
        self._limits_signature: tuple | None = None
        self._limits_length = 0
        self.figure = Figure(figsize=size_in, dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.figure.subplots_adjust(left=0.08, right=0.96, bottom=0.15, top=0.9, wspace=0.24)
        self.ax_data, self.ax_loss = self.figure.subplots(1, 2)
        self._build_data_axes()
        self._build_loss_axes(log_loss)
        self._background = None
        self._legend_pixels = []
        self._background_key = None
        self.full_draws = 0

    @property
    def size_px(self) -> tuple[int, int]:
        return self.canvas.get_width_height()

    def _build_data_axes(self) -> None:
        ax = self.ax_data
        ax.set_xlim(self.x_limits)
        ax.set_ylim(self.y_limits)
        ax.set_title("Points received and the model's line", fontsize=11)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.grid(alpha=0.3)
        (self.points_artist,) = ax.plot([], [], "o", ms=3.5, color=POINT_COLOR, alpha=0.45,
                                        markeredgewidth=0, label="points")
        (self.latest_point,) = ax.plot([], [], "o", ms=9, markerfacecolor="none",
                                       markeredgecolor="black", markeredgewidth=1.5, label="_latest")
        (self.true_line,) = ax.plot([], [], "--", color="black", lw=1.5, label="true line")
        (self.fitted_line,) = ax.plot([], [], "-", color=MODEL_COLOR, lw=2.5, label="model  w·x + b")
        self.point_count = ax.text(0.98, 0.03, "", transform=ax.transAxes, ha="right", va="bottom",
                                   fontsize=9, bbox=dict(boxstyle="round", fc="white", ec="0.8"))
        self.data_legend = ax.legend(loc="upper left", fontsize=9, framealpha=1)
        self._animated = [self.points_artist, self.latest_point, self.true_line, self.fitted_line]

    def _build_loss_axes(self, log_loss: bool) -> None:
        ax = self.ax_loss
        ax.set_title("Loss per step (squared error)", fontsize=11)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3, which="major")
        (self.loss_line,) = ax.plot([], [], "-", color=LOSS_COLOR, lw=0.8, label="each step")
        (self.loss_mean_line,) = ax.plot([], [], "-", color=LOSS_MEAN_COLOR, lw=2,
                                         label=f"mean of last {self.loss_window}")
        self.loss_legend = ax.legend(loc="upper right", fontsize=9, framealpha=1)
        self._animated += [self.loss_line, self.loss_mean_line]
        self._legends = [self.data_legend, self.loss_legend]
        for artist in self._animated + self._legends + [self.point_count]:
            artist.set_animated(True)
        self.set_log_loss(log_loss)

    @property
    def log_loss(self) -> bool:
        return self.ax_loss.get_yscale() == "log"

    def set_log_loss(self, log: bool) -> None:
        """Show the loss on a log (True) or linear (False) axis."""
        if log:
            self.ax_loss.set_yscale("log", nonpositive="clip")
        else:
            self.ax_loss.set_yscale("linear")
        self._fit_loss_limits()

    def update(
        self,
        points: Sequence[Sequence[float]] = (),
        true_line: tuple[float, float] | None = None,
        fitted_line: tuple[float, float] | None = None,
        losses: Sequence[float] = (),
        steps: Sequence[int] | None = None,
    ) -> None:
        """Set what the next frame shows.

        Args:
            points: every (x, y) received so far, oldest first.
            true_line, fitted_line: (slope, intercept) of each line; None hides it.
            losses: the loss of each step, oldest first.
            steps: the step number of each loss (default 1, 2, ...).
        """
        xy = np.asarray(points, dtype=float).reshape(-1, 2)
        shown = xy[-self.max_points:]
        self.points_artist.set_data(shown[:, 0], shown[:, 1])
        self.latest_point.set_data(shown[-1:, 0], shown[-1:, 1])
        if len(xy) <= self.max_points:
            self.point_count.set_text(f"{len(xy)} points")
        else:
            self.point_count.set_text(f"{len(xy)} points, last {self.max_points} shown")
        self._set_line(self.true_line, true_line)
        self._set_line(self.fitted_line, fitted_line)

        losses = np.asarray(losses, dtype=float)
        steps = np.arange(1, len(losses) + 1) if steps is None else np.asarray(steps, dtype=float)
        if len(steps) != len(losses):
            raise ValueError(f"steps has {len(steps)} entries, losses {len(losses)}")
        self.loss_line.set_data(steps, losses)
        self.loss_mean_line.set_data(steps, rolling_mean(losses, self.loss_window))
        self._fit_loss_limits()

    def _set_line(self, line, slope_intercept: tuple[float, float] | None) -> None:
        if slope_intercept is None:
            line.set_data([], [])
            return
        slope, intercept = slope_intercept
        x = np.array(self.x_limits, dtype=float)
        line.set_data(x, slope * x + intercept)

    def _fit_loss_limits(self) -> None:
        """Round limits that only grow while the history grows, so the cached background stays valid.

        The step axis reaches at least `step_horizon`; the loss axis widens to
        cover new losses but does not shrink until the history restarts.
        """
        steps, losses = self.loss_line.get_xdata(), self.loss_line.get_ydata()
        signature = (steps[0] if len(steps) else None, self.ax_loss.get_yscale())
        if signature != self._limits_signature or len(losses) < self._limits_length:
            self._sticky_ylim = None
        self._limits_signature, self._limits_length = signature, len(losses)

        left = steps[0] - 1 if len(steps) else 0
        reach = max(steps[-1] if len(steps) else 0, self.step_horizon or 0) - left
        self.ax_loss.set_xlim(left, left + nice_ceiling(max(reach, 10), STEP_MANTISSAS))

        finite = losses[np.isfinite(losses)]
        if self.log_loss:
            low, high = DEFAULT_LOG_LOSS_LIMITS
            positive = finite[finite > 0]
            if len(positive):
                low = min(low, 10.0 ** math.floor(math.log10(np.percentile(positive, 1))))
                high = max(high, 10.0 ** math.ceil(math.log10(positive.max() * 1.01)))
        else:
            low, high = 0.0, nice_ceiling(finite.max() * 1.05) if len(finite) and finite.max() > 0 else 1.0
        if self._sticky_ylim is not None:
            low, high = min(low, self._sticky_ylim[0]), max(high, self._sticky_ylim[1])
        self._sticky_ylim = (low, high)
        self.ax_loss.set_ylim(low, high)

    def _layout_key(self) -> tuple:
        return (self.ax_loss.get_xlim(), self.ax_loss.get_ylim(), self.ax_loss.get_yscale(),
                self.ax_data.get_xlim(), self.ax_data.get_ylim(), self.size_px)

    def render(self) -> None:
        """Draw the current data into the canvas (full draw only when the layout changed)."""
        key = self._layout_key()
        if key != self._background_key:
            self._cache_background()
        self.canvas.restore_region(self._background)
        for artist in self._animated:
            artist.axes.draw_artist(artist)
        for legend_pixels in self._legend_pixels:
            self.canvas.restore_region(legend_pixels)
        self.ax_data.draw_artist(self.point_count)

    def _cache_background(self) -> None:
        self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        renderer = self.canvas.get_renderer()
        self._legend_pixels = []
        for legend in self._legends:
            legend.axes.draw_artist(legend)
            self._legend_pixels.append(self.canvas.copy_from_bbox(legend.get_window_extent(renderer).padded(2)))
        self._background_key = self._layout_key()
        self.full_draws += 1

    def to_png(self, compress_level: int = 1) -> bytes:
        """Render and encode the figure as PNG bytes (RGB, fast compression).

        Example:
            >>> len(LearnerPlot().to_png()) > 1000
            True
        """
        self.render()
        width, height = self.size_px
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", compress_level=compress_level)
        return buffer.getvalue()
