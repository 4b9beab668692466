#!/usr/bin/env python3
"""maskcheck lint vs pycocotools' COCO() load on a COCO-train-sized file, side by side.

    python benchmarks/bench_coco.py                 # 118,287 images, 860k annotations
    python benchmarks/bench_coco.py --images 5000 --runs 3

Generates the file with ../shared/bench/make_coco.py (cached under benchmarks/.data/), then
alternates the two commands, each in a fresh process, and prints the median wall time and
peak memory of each process tree (PSS summed over the child and its pool workers; see run)
and the median of the per-pair ratios. The machines are shared and noisy: read the ratios,
not the seconds.
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

HERE = Path(__file__).resolve().parent
MAKE_COCO = HERE.parent.parent / "shared" / "bench" / "make_coco.py"

COCO_LOAD = "import sys; from pycocotools.coco import COCO; COCO(sys.argv[1])"


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak memory (MiB) of one child process tree, which must exit 0.

    Memory is the peak, over samples every 20 ms, of the proportional set size (PSS) summed
    over the child and its descendants (pool workers): pages the workers share with the
    parent (fork's copy-on-write) are counted once, split among them, not once per process
    as a sum of RSS would. The child's own max RSS is the floor when a peak falls between
    samples. (Python also exits 1 on an uncaught exception, so 1 is not taken as
    "findings": the lint runs with --exit-zero, and a missing module cannot pass for a fast
    run.)
    """
    with tempfile.TemporaryFile() as errfile:  # a file, not a pipe: it cannot fill and block
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=errfile)
        peak = 0
        while True:
            done, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if done:
                break
            peak = max(peak, tree_pss(proc.pid))
            time.sleep(0.02)
        wall = time.perf_counter() - start
        errfile.seek(0)
        err = errfile.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}: {err.strip()[-500:]}")
    return wall, max(peak / 1024, usage.ru_maxrss / 1024)


def tree_pss(pid: int) -> int:
    """PSS in KiB of `pid` and every descendant (0 for a process already gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=118287)
    ap.add_argument("--runs", type=int, default=5, help="pairs of alternating runs")
    ap.add_argument("--file", type=Path, help="use this COCO file instead of generating one")
    ap.add_argument("--jobs", "-j", type=int, default=0,
                    help="maskcheck's --jobs (default 0: every core; 1: serial)")
    ap.add_argument("--select", action="append", default=[],
                    help="lint only these rules (repeatable; default: every default rule)")
    a = ap.parse_args()

    path = a.file
    if path is None:
        if not MAKE_COCO.is_file():
            raise SystemExit(f"{MAKE_COCO} not found: pass --file PATH")
        path = HERE / ".data" / f"coco_like_{a.images}.json"
        if not path.is_file():
            path.parent.mkdir(exist_ok=True)
            print(f"generating {path} ...", file=sys.stderr)
            subprocess.run([sys.executable, str(MAKE_COCO), "--images", str(a.images),
                            "--out", str(path)], check=True)

    lint_cmd = [sys.executable, "-m", "maskcheck", "lint", str(path), "--format", "json",
                "--output", os.devnull, "--no-progress", "--exit-zero", "--jobs", str(a.jobs)]
    lint_cmd += [arg for sel in a.select for arg in ("--select", sel)]
    coco_cmd = [sys.executable, "-c", COCO_LOAD, str(path)]
    rows: list[tuple[float, float, float, float]] = []
    for i in range(a.runs):
        # alternate which goes first so drift on a shared machine hits both alike
        if i % 2:
            cw, cm = run(coco_cmd)
            lw, lm = run(lint_cmd)
        else:
            lw, lm = run(lint_cmd)
            cw, cm = run(coco_cmd)
        rows.append((lw, lm, cw, cm))
        print(f"run {i + 1}: maskcheck {lw:6.2f} s {lm:7.0f} MiB | COCO() {cw:6.2f} s {cm:7.0f} MiB",
              file=sys.stderr)

    med = statistics.median
    size = path.stat().st_size / 2**20
    print(f"file: {path} ({size:.0f} MiB), maskcheck --jobs {a.jobs} (0: every core)")
    for name, w, m in (("maskcheck lint", 0, 1), ("pycocotools   ", 2, 3)):
        print(f"{name} : median {med(r[w] for r in rows):6.2f} s, "
              f"peak {med(r[m] for r in rows):6.0f} MiB")
    print(f"ratio (lint / COCO()): wall {med(r[0] / r[2] for r in rows):.2f}, "
          f"peak memory {med(r[1] / r[3] for r in rows):.2f}  (median of {len(rows)} pairs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
