"""Shared bits of the benchmarks: a line about the machine and a BENCHMARKS.md section writer.

Example:
    >>> from report import machine_line
    >>> machine_line().startswith("Machine:")
    True
"""

import datetime
import os
import platform
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nEach section is written by the script its command names; re-run it to refresh.\n"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    return (f"Machine: {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}, "
            f"measured {datetime.date.today().isoformat()}.")


def write_section(key: str, title: str, body: str) -> None:
    """Replace (or append) the section between this key's markers in BENCHMARKS.md."""
    start, end = f"<!-- {key}: start -->", f"<!-- {key}: end -->"
    block = f"{start}\n## {title}\n\n{body}\n{end}"
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    BENCHMARKS.write_text(text)
