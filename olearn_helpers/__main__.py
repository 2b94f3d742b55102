"""Run a learner from a terminal until Ctrl-C.

Example:
    $ python -m olearn_helpers serve --port 8000 --lr 0.1 --seed 0
    Learner ready at http://127.0.0.1:8000 (lr=0.1, seed=0). Ctrl-C stops it.
"""

import argparse
import signal
import sys
import threading

from .lifecycle import start_learner, stop_learner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m olearn_helpers", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start a learner on 127.0.0.1 and keep it up until Ctrl-C")
    serve.add_argument("--port", type=int, default=None, help="default: OLEARN_PORT, else 8000")
    serve.add_argument("--lr", type=float, default=0.1)
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument("--address", default=None, help="deploy onto this existing Ray cluster")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    learner = start_learner(lr=args.lr, seed=args.seed, port=args.port, address=args.address)
    print(f"Learner ready at {learner.url} (lr={args.lr:g}, seed={args.seed}). Ctrl-C stops it.", flush=True)
    try:
        stop.wait()
    finally:
        print("Stopping the learner...", flush=True)
        stop_learner()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
