#!/usr/bin/env python3
"""What `--engine dask` costs against the local pool (`-j 2`) on one machine.

    python benchmarks/bench_dask.py                     # SA-1B shards and a COCO file
    python benchmarks/bench_dask.py --sa1b 2000 --coco 20000 --runs 3

Each command runs in a fresh process, alternating: `maskcheck lint -j 2` and `maskcheck lint
--engine dask -j 2` (a LocalCluster of two worker processes, started and closed by the
command). Prints the median wall time and peak memory (PSS of the process tree, as
bench_coco.run) of each, the time to start and close the LocalCluster alone, and the
overhead per partition: (dask - pool - cluster start) / partitions, partitions being the
engine's (pool.runs_of: four per worker). Read the ratios; the machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench_coco import HERE, MAKE_COCO, run

MAKE_SA1B = HERE.parent.parent / "shared" / "bench" / "make_sa1b.py"
START_CLUSTER = ("from distributed import LocalCluster, Client\n"
                 "with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,"
                 " dashboard_address=None) as c, Client(c) as cl: cl.submit(abs, -1).result()")


def data(kind: str, images: int) -> Path:
    root = HERE / ".data" / "dask"
    root.mkdir(parents=True, exist_ok=True)
    if kind == "sa1b":
        out = root / f"sa1b-tar-{images}"
        if not out.exists():
            subprocess.run([sys.executable, str(MAKE_SA1B), "--images", str(images), "--masks", "50",
                            "--per-shard", "500", "--tar", "--out", str(out)],
                           check=True, stdout=subprocess.DEVNULL)
        return out
    out = root / f"coco-{images}.json"
    if not out.exists():
        subprocess.run([sys.executable, str(MAKE_COCO), "--images", str(images), "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sa1b", type=int, default=2000, help="SA-1B images (tar shards)")
    ap.add_argument("--coco", type=int, default=20000, help="COCO images")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    med = statistics.median
    starts = [run([sys.executable, "-c", START_CLUSTER])[0] for _ in range(a.runs)]
    start = med(starts)
    print(f"LocalCluster(2 workers) start + first task + close: median {start:.2f} s")
    partitions = 2 * 4  # pool.runs_of with two workers, when there are enough batches
    for kind, images in (("sa1b", a.sa1b), ("coco", a.coco)):
        path = data(kind, images)
        base = [sys.executable, "-m", "maskcheck", "lint", str(path), "--format", "json",
                "--output", os.devnull, "--no-progress", "--exit-zero", "-j", "2"]
        rows = []
        for i in range(a.runs):
            cmds = [base, [*base, "--engine", "dask"]]
            got = [run(c) for c in (cmds if i % 2 == 0 else cmds[::-1])]
            pool, dask = got if i % 2 == 0 else got[::-1]
            rows.append((*pool, *dask))
            print(f"{kind} run {i + 1}: -j 2 {pool[0]:6.2f} s {pool[1]:6.0f} MiB | dask "
                  f"{dask[0]:6.2f} s {dask[1]:6.0f} MiB", file=sys.stderr)
        pw, pm = med(r[0] for r in rows), med(r[1] for r in rows)
        dw, dm = med(r[2] for r in rows), med(r[3] for r in rows)
        per = (dw - pw - start) / partitions
        print(f"{kind} ({images:,} images): -j 2 {pw:.2f} s {pm:.0f} MiB; dask {dw:.2f} s "
              f"{dm:.0f} MiB; wall ratio dask / -j 2 {med(r[2] / r[0] for r in rows):.2f}, memory "
              f"{med(r[3] / r[1] for r in rows):.2f}; overhead per partition beyond the cluster's "
              f"start {per * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
