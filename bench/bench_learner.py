"""Start-up time, request rates and memory of the learner service, side by side.

One run measures, on this machine:
- cold start: `start_learner()` until the learner's first answer, and a re-run of it;
- the guarded in-process step (lock, finiteness check, rollback) against the seed's bare loop;
- sequential `/train` over HTTP with a JSON body and with query parameters, the same
  points as one `/train_batch`, and the same
  per-point SGD step in-process (no HTTP), so the cost of the network hop shows as a ratio;
- 32 concurrent clients x 50 `/train` calls: rate and errors;
- processes and memory (PSS) of the private Ray that `start_learner()` starts.
It prints a table and writes it into the "bench_learner" section of BENCHMARKS.md.

Example:
    $ .venv/bin/python bench/bench_learner.py
"""

import argparse
import sys
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine_line, write_section  # noqa: E402

from olearn_helpers import LinearLearner, start_learner, stop_learner  # noqa: E402
from olearn_helpers.lessons import many_writers  # noqa: E402
from olearn_helpers.lifecycle import free_port  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_learner.py"


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def seed_training_loop_rate(points) -> float:
    """Steps per second of the seed tutorial's bare loop: no lock, no checks, no rollback."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = torch.nn.MSELoss()
    began = time.perf_counter()
    for x, y in points:
        optimizer.zero_grad()
        loss = criterion(model(torch.tensor([[x]])), torch.tensor([[y]]))
        loss.backward()
        optimizer.step()
        loss.item()
    return len(points) / (time.perf_counter() - began)


def ray_memory() -> tuple[int, float]:
    processes = psutil.Process().children(recursive=True)
    pss = 0
    for process in processes:
        try:
            pss += process.memory_full_info().pss
        except psutil.Error:
            pass
    return len(processes), pss / 1024**2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md alone")
    args = parser.parse_args()
    points = [((i % 61) / 10 - 3.0, 2.0 * ((i % 61) / 10 - 3.0) + 1.0) for i in range(args.points)]

    began = time.perf_counter()
    port = free_port()
    learner = start_learner(port=port)
    learner.state()
    cold = time.perf_counter() - began
    began = time.perf_counter()
    start_learner(port=port)
    warm = time.perf_counter() - began

    learner.reset()
    began = time.perf_counter()
    for x, y in points:
        learner.train(x, y)
    sequential = time.perf_counter() - began

    learner.reset()
    session = requests.Session()
    began = time.perf_counter()
    for x, y in points:
        session.post(learner.url + "/train", params={"x": x, "y": y}, timeout=30).raise_for_status()
    query_form = time.perf_counter() - began

    learner.reset()
    began = time.perf_counter()
    learner.train_many(points)
    batch = time.perf_counter() - began

    local = LinearLearner()
    began = time.perf_counter()
    for x, y in points:
        local.train(x, y)
    in_process = time.perf_counter() - began

    bare_rate = seed_training_loop_rate(points)

    clients, calls = 32, 50
    began = time.perf_counter()
    writers = many_writers(learner, clients=clients, points_each=calls)
    concurrent = time.perf_counter() - began
    processes, pss_mb = ray_memory()
    stop_learner()

    rows = [
        ("cold start: `start_learner()` to first answer", f"{cold:.1f} s", ""),
        ("re-run of `start_learner()` (live learner reused)", f"{warm * 1000:.1f} ms", ""),
        (f"sequential `/train`, {len(points)} points", rate(len(points), sequential),
         f"{sequential / len(points) * 1000:.2f} ms per request"),
        (f"sequential `/train?x=..&y=..` (seed's query form), same {len(points)} points",
         rate(len(points), query_form), f"{query_form / len(points) * 1000:.2f} ms per request: no body to fetch"),
        (f"one `/train_batch` of the same {len(points)} points", rate(len(points), batch),
         f"{sequential / batch:.0f}x sequential `/train`"),
        (f"in-process SGD step, same {len(points)} points", rate(len(points), in_process),
         f"{sequential / in_process:.0f}x sequential `/train`; "
         f"{len(points) / in_process / bare_rate:.0%} of the seed's bare loop ({bare_rate:,.0f}/s)"),
        (f"{clients} concurrent clients x {calls} `/train`", rate(clients * calls, concurrent),
         f"{writers['errors']} errors; replay in the server's order matches: {writers['replay_matches']}"),
        ("Ray processes started / their memory (PSS)", f"{processes}", f"{pss_mb:,.0f} MB"),
    ]
    table = ["| measurement | result | note |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join([f"Command: `{COMMAND}`", "", machine_line(), "", *table])
    print(text)
    if not args.no_write:
        write_section("bench_learner", "Learner service", text)


if __name__ == "__main__":
    main()
