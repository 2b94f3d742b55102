"""olearn: online learning with a stateful Ray Serve actor, taught live in notebooks.

Example:
    >>> from olearn_helpers import start_learner, stop_learner
    >>> learner = start_learner()          # doctest: +SKIP
    >>> learner.train(1.0, 3.0)            # doctest: +SKIP
    {'loss': 6.106..., 'step': 1, 'grad_w': -4.94..., 'grad_b': -4.94..., 'w': 0.486..., 'b': 1.030...}
    >>> stop_learner()                     # doctest: +SKIP
"""

from .client import InvalidInput, LearnerClient, LearnerError, LearnerUnavailable, StepRefused
from .lifecycle import start_learner, stop_learner
from .model import LinearLearner

__all__ = [
    "start_learner", "stop_learner", "LearnerClient", "LearnerDashboard", "LineStream", "LinearLearner",
    "LearnerError", "InvalidInput", "StepRefused", "LearnerUnavailable",
]


def __getattr__(name):
    # The widgets pull in ipywidgets and matplotlib; the Serve replica, which
    # imports this package too, has no use for them.
    if name == "LearnerDashboard":
        from .widgets import LearnerDashboard
        return LearnerDashboard
    if name == "LineStream":
        from .data import LineStream
        return LineStream
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
