"""`LineStream`: noisy points from a true line, one seeded draw after another.

The lessons feed the learner from a stream like this. Its attributes can be
changed while it runs: changing `slope` or `intercept` mid-stream is concept
drift, the world moving under a model that has already learned.

Example:
    >>> stream = LineStream(slope=2.0, intercept=1.0, noise=0.3, seed=0)
    >>> [(round(x, 3), round(y, 3)) for x, y in stream.sample(3)]
    [(0.822, 2.675), (-1.381, -1.923), (-2.754, -4.4)]
    >>> stream.y(2.0)
    5.0
    >>> stream.slope = -1.0          # concept drift
    >>> stream.y(2.0)
    -1.0
"""

from __future__ import annotations

import math

import numpy as np


class LineStream:
    """Points (x, y) with x uniform in `x_range` and y = slope*x + intercept + noise*N(0, 1).

    `sample` draws from one `numpy.random.Generator` seeded with `seed`, so the
    same calls give the same points; `restart()` replays the stream from the
    start. The noise is drawn at unit scale and then multiplied by `noise`,
    so changing `noise` does not change which random numbers come next.

    Example:
        >>> stream = LineStream(seed=0)
        >>> first = stream.sample(5)
        >>> stream.restart()
        >>> stream.sample(5) == first
        True
        >>> stream.noise = 0.0
        >>> all(y == stream.y(x) for x, y in stream.sample(10))
        True
    """

    def __init__(
        self,
        slope: float = 2.0,
        intercept: float = 1.0,
        noise: float = 0.3,
        x_range: tuple[float, float] = (-3.0, 3.0),
        seed: int = 0,
    ):
        self.slope = float(slope)
        self.intercept = float(intercept)
        self.noise = float(noise)
        self.x_range = (float(x_range[0]), float(x_range[1]))
        self.seed = seed
        self._check()
        self.restart()

    def __repr__(self) -> str:
        return (
            f"LineStream(slope={self.slope:g}, intercept={self.intercept:g}, noise={self.noise:g}, "
            f"x_range=({self.x_range[0]:g}, {self.x_range[1]:g}), seed={self.seed})"
        )

    def _check(self) -> None:
        numbers = {"slope": self.slope, "intercept": self.intercept, "noise": self.noise,
                   "x_range[0]": self.x_range[0], "x_range[1]": self.x_range[1]}
        for name, value in numbers.items():
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        if not self.x_range[0] < self.x_range[1]:
            raise ValueError(f"x_range must be (low, high) with low < high, got {self.x_range}")

    def restart(self) -> None:
        """Start the random sequence again from `seed`."""
        self.rng = np.random.default_rng(self.seed)

    def y(self, x):
        """The noiseless true value slope*x + intercept (a float or an array, like `x`).

        Example:
            >>> LineStream(slope=2.0, intercept=1.0).y(np.array([0.0, 1.0]))
            array([1., 3.])
        """
        return self.slope * x + self.intercept

    def noisy_y(self, x: float) -> float:
        """One observation at `x`: the true value plus fresh noise.

        Example:
            >>> LineStream(noise=0.0).noisy_y(1.5)
            4.0
        """
        self._check()
        return float(self.y(float(x)) + self.noise * self.rng.standard_normal())

    def sample(self, n: int) -> list[tuple[float, float]]:
        """The next `n` points as a list of (x, y) Python floats, ready to send as JSON.

        Example:
            >>> len(LineStream(seed=1).sample(4))
            4
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self._check()
        x = self.rng.uniform(self.x_range[0], self.x_range[1], n)
        y = self.y(x) + self.noise * self.rng.standard_normal(n)
        return list(zip(x.tolist(), y.tolist()))
