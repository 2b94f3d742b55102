"""Frames per second of the dashboard while it streams to a live learner.

Starts a learner on a free port, streams points through `LearnerDashboard.stream`
(the same code a Stream click runs) and counts the frames it drew and the
time it took. In the same run it times one redraw + PNG encode on its own:
a blitted frame, a full frame (cache rebuilt) and the dashboard's whole
`redraw()` (plot, PNG, widget update). Prints a table and writes it into the
"Dashboard" section of BENCHMARKS.md.

Example:
    $ .venv/bin/python bench/bench_dashboard.py
    $ .venv/bin/python bench/bench_dashboard.py --points 500 --runs 1 --no-write
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine_line, write_section  # noqa: E402

from olearn_helpers import start_learner, stop_learner  # noqa: E402
from olearn_helpers.data import LineStream  # noqa: E402
from olearn_helpers.lifecycle import free_port  # noqa: E402
from olearn_helpers.widgets import DEFAULT_BATCH_SIZE, LearnerDashboard  # noqa: E402

COMMAND = ".venv/bin/python bench/bench_dashboard.py"
SECTION_KEY = "bench_dashboard"
SECTION_TITLE = "Dashboard: frames per second while streaming"
TARGET_FPS = 10.0


def timed(action, repeats: int) -> list[float]:
    """Seconds per call of `action`, one entry per call."""
    durations = []
    for index in range(repeats):
        started = time.perf_counter()
        action(index)
        durations.append(time.perf_counter() - started)
    return durations


def measure_streaming(dash: LearnerDashboard, points: int, runs: int) -> list[dict]:
    results = []
    for _ in range(runs):
        dash.reset()
        summary = dash.stream(points)
        if summary["error"] or summary["points_sent"] != points:
            raise RuntimeError(f"the stream did not complete: {summary}")
        batches = -(-points // dash.batch_size)
        summary["ms_per_batch"] = 1e3 * (summary["seconds"] - summary["draw_seconds"]) / batches
        summary["final_mean_loss"] = statistics.fmean(dash.losses[-100:])
        results.append(summary)
    return results


def measure_redraw(dash: LearnerDashboard, repeats: int) -> dict[str, list[float]]:
    """Time redraws with the history of the last stream (its points and losses) in place."""
    plot, state = dash.plot, dash.state
    true_line = (dash.data_stream.slope, dash.data_stream.intercept)

    def blitted_frame(index: int) -> None:
        fitted_line = (state["w"] + 1e-3 * index, state["b"])
        plot.update(dash.points, true_line, fitted_line, dash.losses, dash.loss_steps)
        plot.to_png()

    def full_frame(index: int) -> None:
        plot._background_key = None
        blitted_frame(index)

    return {
        "plot frame, blitted (update + render + PNG)": timed(blitted_frame, repeats),
        "plot frame, full draw (cache rebuilt)": timed(full_frame, max(repeats // 4, 5)),
        "dashboard redraw() (frame + widget update)": timed(lambda _: dash.redraw(), repeats),
    }


def render_body(streams: list[dict], redraws: dict[str, list[float]], points: int,
                start_seconds: float, png_bytes: int) -> str:
    import ipywidgets
    import ray

    fps = [run["fps"] for run in streams]
    lines = [
        f"Command: `{COMMAND}`",
        "",
        f"{machine_line()} matplotlib {matplotlib.__version__}, ipywidgets {ipywidgets.__version__}, "
        f"ray {ray.__version__}. The learner (Ray + Serve, {start_seconds:.1f} s to start) and the "
        "dashboard share the machine.",
        "",
        f"`LearnerDashboard.stream({points})`: batches of {DEFAULT_BATCH_SIZE} points "
        "(one `/train_batch` request each: its answer carries the new weights), a frame at most every 1/15 s and one at the end. "
        "`draw s` is the time spent drawing frames; `ms per batch` is the rest divided by the batches.",
        "",
        "| run | points | seconds | frames | frames/s | draw s | ms per batch | mean loss, last 100 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, run in enumerate(streams, 1):
        lines.append(
            f"| {number} | {run['points_sent']} | {run['seconds']:.2f} | {run['frames']} | {run['fps']:.1f} | "
            f"{run['draw_seconds']:.2f} | {run['ms_per_batch']:.1f} | {run['final_mean_loss']:.3f} |")
    verdict = "met" if statistics.median(fps) >= TARGET_FPS else "NOT met"
    lines += [
        "",
        f"Median {statistics.median(fps):.1f} frames/s (target {TARGET_FPS:.0f} or more: {verdict}).",
        "",
        f"One redraw on its own, with the {points} points and losses of the last run in the history, "
        f"720 x 288 px PNG of about {png_bytes / 1024:.0f} KiB:",
        "",
        "| redraw | calls | median ms | 90th percentile ms | frames/s if only drawing |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, durations in redraws.items():
        median = statistics.median(durations)
        p90 = statistics.quantiles(durations, n=10)[-1]
        lines.append(f"| {name} | {len(durations)} | {1e3 * median:.1f} | {1e3 * p90:.1f} | {1 / median:.0f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=2000, help="points per stream (default 2000)")
    parser.add_argument("--runs", type=int, default=3, help="streams to time (default 3)")
    parser.add_argument("--redraws", type=int, default=60, help="redraws to time (default 60)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    learner = start_learner(lr=0.1, seed=0, port=free_port())
    start_seconds = time.perf_counter() - started
    try:
        dash = LearnerDashboard(learner, stream=LineStream(seed=0))
        streams = measure_streaming(dash, args.points, args.runs)
        redraws = measure_redraw(dash, args.redraws)
        png_bytes = len(dash.image.value)
        dash.close()
    finally:
        stop_learner()
    body = render_body(streams, redraws, args.points, start_seconds, png_bytes)
    print(f"## {SECTION_TITLE}\n\n{body}")
    if not args.no_write:
        write_section(SECTION_KEY, SECTION_TITLE, body)
        print("wrote the section into BENCHMARKS.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
