"""Small helpers that let the notebooks show an idea in one or two lines.

Example:
    >>> rounded({"loss": 6.1060538, "step": 1})
    {'loss': 6.1061, 'step': 1}
    >>> step = sgd_step_by_hand(w=0.5, b=0.0, x=2.0, y=5.0, lr=0.1)
    >>> step["new_w"], step["new_b"]
    (2.1, 0.8)
"""

from __future__ import annotations

from typing import Iterable, Sequence


def rounded(value, digits: int = 4):
    """Round every float inside dicts, lists and tuples to `digits` significant-ish places."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(rounded(item, digits) for item in value)
    return value


def state_line(state: dict, digits: int = 4) -> str:
    """One line: step, w, b, lr of a learner's state."""
    return (f"step {state['step']:>3} | w = {state['w']:.{digits}f} | b = {state['b']:.{digits}f}"
            f" | lr = {state['lr']:g}")


def sgd_step_by_hand(w: float, b: float, x: float, y: float, lr: float) -> dict:
    """The training loop of y = w*x + b with squared error, done with a pencil.

    Example:
        >>> sgd_step_by_hand(w=0.0, b=0.0, x=1.0, y=2.0, lr=0.5)["new_w"]
        2.0
    """
    prediction = w * x + b
    error = prediction - y
    grad_w, grad_b = 2 * error * x, 2 * error
    return {"prediction": prediction, "loss": error**2, "grad_w": grad_w, "grad_b": grad_b,
            "new_w": w - lr * grad_w, "new_b": b - lr * grad_b}


def tell_the_cannon_story(step: dict, x: float, y: float, lr: float) -> None:
    """Print a by-hand step as the four moves of the cannon analogy."""
    print(f"1. Forward  (the shot):        prediction = {step['prediction']:.4f}   (target y = {y:g})")
    print(f"2. Loss     (the measurement): (prediction - y)^2 = {step['loss']:.4f}")
    print(f"3. Backward (the calculation): dloss/dw = 2*(prediction - y)*x = {step['grad_w']:.4f}")
    print(f"                               dloss/db = 2*(prediction - y)   = {step['grad_b']:.4f}")
    print(f"4. Step     (the adjustment):  w <- w - {lr:g}*dloss/dw = {step['new_w']:.4f}")
    print(f"                               b <- b - {lr:g}*dloss/db = {step['new_b']:.4f}")


def compare_with_server(by_hand: dict, answer: dict, state_after: dict, tolerance: float = 1e-4) -> bool:
    """Print the by-hand and server numbers side by side; True if they agree."""
    pairs = [("loss", by_hand["loss"], answer["loss"]), ("dloss/dw", by_hand["grad_w"], answer["grad_w"]),
             ("dloss/db", by_hand["grad_b"], answer["grad_b"]), ("new w", by_hand["new_w"], state_after["w"]),
             ("new b", by_hand["new_b"], state_after["b"])]
    print(f"{'':>9} {'by hand':>10} {'server':>10}")
    for name, mine, theirs in pairs:
        print(f"{name:>9} {mine:>10.4f} {theirs:>10.4f}")
    return all(abs(mine - theirs) <= tolerance * max(1.0, abs(theirs)) for _, mine, theirs in pairs)


def train_and_watch(learner, points: Iterable[Sequence[float]]) -> list[dict]:
    """Send points one by one; print step, loss, w and b after each; return the rows."""
    rows = []
    print(f"{'step':>4} {'x':>6} {'y':>6} {'loss':>9} {'w':>8} {'b':>8}")
    for x, y in points:
        answer = learner.train(x, y)
        state = learner.state()
        rows.append({"step": answer["step"], "x": x, "y": y, "loss": answer["loss"], "w": state["w"], "b": state["b"]})
        print(f"{answer['step']:>4} {x:>6.2f} {y:>6.2f} {answer['loss']:>9.4f} {state['w']:>8.4f} {state['b']:>8.4f}")
    return rows


def plot_history(rows: list[dict], true_w: float | None = None, true_b: float | None = None):
    """Loss per step (log scale) and the path of w and b towards the true line."""
    import matplotlib.pyplot as plt

    steps = [row["step"] for row in rows]
    figure, (loss_axis, weight_axis) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    plt.close(figure)  # shown once, as the cell's value
    loss_axis.semilogy(steps, [row["loss"] for row in rows], marker="o", markersize=3)
    loss_axis.set(title="loss before each step", xlabel="step", ylabel="squared error")
    weight_axis.plot(steps, [row["w"] for row in rows], label="w", color="tab:blue")
    weight_axis.plot(steps, [row["b"] for row in rows], label="b", color="tab:orange")
    for value, color in ((true_w, "tab:blue"), (true_b, "tab:orange")):
        if value is not None:
            weight_axis.axhline(value, color=color, linestyle=":", linewidth=1)
    weight_axis.set(title="weights after each step (dotted: true line)", xlabel="step")
    weight_axis.legend(loc="center right")
    return figure


def many_writers(learner, clients: int = 16, points_each: int = 25) -> dict:
    """Reset the learner, then let `clients` threads train it at once.

    Each answer carries the step number the server gave that point, so the
    points can be replayed in the server's order on an in-process copy of the
    model. Returns the request count, the errors, how many distinct step
    numbers the answers carried (a lost or doubled step shows here), the final
    step and whether the replay ends on the very same weights.

    Example (needs a running learner):
        >>> many_writers(start_learner(), clients=4, points_each=5)   # doctest: +SKIP
        {'requests': 20, 'errors': 0, 'distinct_steps': 20, 'final_step': 20, 'replay_matches': True}
    """
    import threading

    from .client import LearnerClient, LearnerError
    from .model import LinearLearner

    start = learner.reset()
    applied, errors = {}, []

    def client(index: int) -> None:
        own = LearnerClient(learner.url)
        for call in range(points_each):
            x, y = (index - clients / 2) / 4, call / points_each
            try:
                applied[own.train(x, y)["step"]] = (x, y)
            except LearnerError as error:
                errors.append(error)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    replay = LinearLearner(lr=start["lr"], seed=start["seed"])
    replay.train_many(applied[step] for step in sorted(applied))
    final = learner.state()
    return {"requests": clients * points_each, "errors": len(errors), "distinct_steps": len(applied),
            "final_step": final["step"],
            "replay_matches": (final["w"], final["b"]) == (replay.state()["w"], replay.state()["b"])}
