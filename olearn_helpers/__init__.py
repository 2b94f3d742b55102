"""olearn: online learning with a stateful Ray Serve actor, taught live in notebooks.

Example:
    >>> from olearn_helpers import start_learner, stop_learner
    >>> learner = start_learner()          # doctest: +SKIP
    >>> learner.train(1.0, 3.0)            # doctest: +SKIP
    {'loss': 6.106..., 'step': 1, 'grad_w': -4.94..., 'grad_b': -4.94...}
    >>> stop_learner()                     # doctest: +SKIP
"""

from .client import InvalidInput, LearnerClient, LearnerError, LearnerUnavailable, StepRefused
from .data import LineStream
from .lifecycle import start_learner, stop_learner
from .model import LinearLearner
from .widgets import LearnerDashboard

__all__ = [
    "start_learner", "stop_learner", "LearnerClient", "LearnerDashboard", "LineStream", "LinearLearner",
    "LearnerError", "InvalidInput", "StepRefused", "LearnerUnavailable",
]
