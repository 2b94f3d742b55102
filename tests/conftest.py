import os

import pytest

from olearn_helpers import start_learner, stop_learner
from olearn_helpers.lifecycle import free_port


@pytest.fixture(scope="module")
def learner():
    """One live learner per test module, on a free loopback port, stopped afterwards."""
    client = start_learner(lr=0.1, seed=0, port=free_port())
    yield client
    stop_learner()


@pytest.fixture
def fresh(learner):
    """The module's learner, reset to its initial weights and lr=0.1."""
    learner.set_lr(0.1)
    learner.reset()
    return learner


def pytest_configure(config):
    """Notebook kernels inherit this: their learners use a port nothing else holds."""
    os.environ.setdefault("OLEARN_PORT", str(free_port()))
