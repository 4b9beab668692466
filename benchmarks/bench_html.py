#!/usr/bin/env python3
"""What the HTML report costs: `maskcheck lint` with and without `--report html=...`, side
by side on a COCO-train-sized file, and the report's size.

    python benchmarks/bench_html.py --file /tmp/bench/full.json --runs 3
    python benchmarks/bench_html.py --images 5000 --plant 2000

`--plant N` writes a copy of the file with N boxes shifted off their masks (MC211) and N
string category ids (MC101), so the gallery has full pages to draw (the bench file itself is
clean). The two commands alternate, each in a fresh process; the script prints the median
wall time and peak memory of each, the median of the per-pair ratios, and the report's size
(the budget: at most 1.2x the lint's wall time and 25 MB). Read the ratios, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_coco import HERE, MAKE_COCO, run


def planted(path: Path, n: int) -> Path:
    """A copy of `path` with `n` boxes moved off their masks and `n` string class ids."""
    out = path.with_name(f"{path.stem}.planted{n}.json")
    if out.is_file():
        return out
    doc = json.loads(path.read_text(encoding="utf-8"))
    anns = doc["annotations"]
    step = max(1, len(anns) // max(1, 2 * n))
    names = {c["id"]: c["name"] for c in doc["categories"]}
    for k, ann in enumerate(anns[::step][:2 * n]):
        if k % 2 == 0:
            x, y, w, h = ann["bbox"]
            ann["bbox"] = [x + w, y + h, w, h]  # beside the mask, not on it
        else:
            ann["category_id"] = names[ann["category_id"]]
    out.write_text(json.dumps(doc), encoding="utf-8")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=118287)
    ap.add_argument("--runs", type=int, default=3, help="pairs of alternating runs")
    ap.add_argument("--file", type=Path, help="use this COCO file instead of generating one")
    ap.add_argument("--plant", type=int, default=0, help="plant this many defects of two kinds")
    a = ap.parse_args()
    path = a.file
    if path is None:
        data = HERE / ".data"
        data.mkdir(exist_ok=True)
        path = data / f"coco_{a.images}.json"
        if not path.is_file():
            subprocess.run([sys.executable, str(MAKE_COCO), "--images", str(a.images),
                            "--out", str(path)], check=True)
    if a.plant:
        # in a child: a parent holding the parsed document would lend its resident pages to
        # every process it forks, and their peak memory would count them
        out = path.with_name(f"{path.stem}.planted{a.plant}.json")
        if not out.is_file():
            subprocess.run([sys.executable, "-c", "import sys, bench_html; "
                            "bench_html.planted(__import__('pathlib').Path(sys.argv[1]), "
                            "int(sys.argv[2]))", str(path), str(a.plant)],
                           check=True, cwd=HERE)
        path = out
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.html"
        lint = [sys.executable, "-m", "maskcheck", "lint", str(path), "--exit-zero",
                "--no-progress", "-f", "concise"]
        html = [*lint, "--report", f"html={report}"]
        plain_runs, html_runs, ratios = [], [], []
        for _ in range(a.runs):
            p = run(lint)
            h = run(html)
            plain_runs.append(p)
            html_runs.append(h)
            ratios.append(h[0] / p[0])
        size = report.stat().st_size
    wall = statistics.median
    print(f"file: {path} ({path.stat().st_size / 2**20:,.0f} MiB)")
    print(f"lint               wall {wall(r[0] for r in plain_runs):6.2f} s  "
          f"peak {wall(r[1] for r in plain_runs):7.0f} MiB")
    print(f"lint + html report wall {wall(r[0] for r in html_runs):6.2f} s  "
          f"peak {wall(r[1] for r in html_runs):7.0f} MiB")
    print(f"wall ratio (median of {a.runs} pairs): {wall(ratios):.3f}  (budget 1.20)")
    print(f"report size: {size / 2**20:.2f} MiB  (budget 25 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
