"""Launch to first painted window: the frozen app (the installed bundle) beside the source install.

    python bench/launch_frozen.py --frozen /opt/photocap/photocap [--runs 5]

Each run spawns the program with ``PHOTOCAP_REPORT_LAUNCH=quit`` (the app prints the wall-clock
time of its first painted frame and quits) on an empty library in a temporary data folder;
the figure is that time minus the spawn time, so interpreter start and imports count. The
baseline is the source install in the same run (``python -m photocap``, this checkout), runs
interleaved. Qt platform: ``QT_QPA_PLATFORM`` as set (offscreen when unset); the frozen app
gets a clean environment (no PYTHONPATH), as from its menu entry.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def launch_seconds(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.time()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd="/")
    for line in out.stdout.splitlines():
        if line.startswith("first-frame-at"):
            return float(line.split()[1]) - t0
    raise RuntimeError(f"{cmd[0]}: no first frame reported:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frozen", required=True, help="the bundle's program, e.g. /opt/photocap/photocap")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    repo = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        common = {
            "PHOTOCAP_REPORT_LAUNCH": "quit",
            "PHOTOCAP_DATA_DIR": str(Path(tmp, "data")),
            "XDG_CONFIG_HOME": str(Path(tmp, "config")),
            "HOME": tmp,
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
        }
        if os.environ.get("DISPLAY"):
            common["DISPLAY"] = os.environ["DISPLAY"]
        cases = {
            "frozen": ([args.frozen, "--no-captioning"], dict(common)),
            "source": ([sys.executable, "-m", "photocap", "--no-captioning"], {**common, "PYTHONPATH": repo}),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for cmd, env in cases.values():  # one warm-up each: the page cache, not the app, is cold first
            launch_seconds(cmd, env)
        for _ in range(args.runs):
            for name, (cmd, env) in cases.items():
                times[name].append(launch_seconds(cmd, env))
    load = os.getloadavg()[0]
    print(
        f"Launch to first painted frame, median of {args.runs} (platform {common['QT_QPA_PLATFORM']}, load {load:.1f}):"
    )
    for name, values in times.items():
        print(f"  {name:7s} {statistics.median(values):6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in values)})")
    ratio = statistics.median(times["frozen"]) / statistics.median(times["source"])
    print(f"  frozen / source: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
