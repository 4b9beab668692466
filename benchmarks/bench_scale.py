#!/usr/bin/env python3
"""Does memory stay bounded by the batch? Peak memory and wall time of `maskcheck lint -j 1`
on 1x, 2x and 4x the images, per layout.

    python benchmarks/bench_scale.py                    # 1,000 / 2,000 / 4,000 images
    python benchmarks/bench_scale.py --images 500 --layouts sa1b-tar,jsonl

Layouts: SA-1B folders and `.tar` shards (../shared/bench/make_sa1b.py), JSONL records (the
same SA-1B records, one per line), LabelMe folders and a YOLO segmentation folder (written
here: rectangles as polygons, beside blank PNGs). Each lint runs in a fresh process; memory is the peak PSS of
its process tree (bench_coco.run). The goal: peak within 15% of the 1x run (flat) and wall
within 15% of linear, once the startup (a one-image lint) is taken off. Data is cached
under benchmarks/.data/scale/.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

from bench_coco import HERE, run

MAKE_SA1B = HERE.parent.parent / "shared" / "bench" / "make_sa1b.py"
LAYOUTS = ("sa1b-folder", "sa1b-tar", "jsonl", "labelme", "yolo")
MASKS = 20  # per image (SA-1B has ~100; fewer keeps the 4x run short)


def sa1b(out: Path, images: int, tar: bool) -> Path:
    if not out.exists():
        cmd = [sys.executable, str(MAKE_SA1B), "--images", str(images), "--masks", str(MASKS),
               "--per-shard", "250", "--out", str(out)]
        subprocess.run(cmd + (["--tar"] if tar else []), check=True, stdout=subprocess.DEVNULL)
    return out


def jsonl(out: Path, images: int, root: Path) -> Path:
    if not out.exists():
        folder = sa1b(root / f"sa1b-folder-{images}", images, tar=False)
        with out.open("w", encoding="utf-8") as fh:
            for path in sorted(folder.rglob("*.json")):
                fh.write(json.dumps(json.loads(path.read_text(encoding="utf-8"))) + "\n")
    return out


def _rects(rng: random.Random, w: int, h: int, n: int) -> list[tuple[int, int, int, int]]:
    out = []
    for _ in range(n):
        x, y = rng.randrange(0, w - 40), rng.randrange(0, h - 40)
        out.append((x, y, x + rng.randrange(10, 40), y + rng.randrange(10, 40)))
    return out


def _png(i: int) -> bytes:
    """A 640x480 PNG, black but for its number written in the first row's pixels: the files
    the annotations name exist and no two are alike, so the data lints clean."""
    import io

    from PIL import Image

    img = Image.new("L", (640, 480))
    img.putdata(list(i.to_bytes(4, "big")) + [0] * (640 * 480 - 4))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def labelme(out: Path, images: int) -> Path:
    if not out.exists():
        out.mkdir(parents=True)
        (out / "labels.txt").write_text("__ignore__\n_background_\ncat\ndog\nbird\n", encoding="utf-8")
        rng = random.Random(0)
        for i in range(images):
            shapes = [{"label": rng.choice(["cat", "dog", "bird"]), "shape_type": "polygon",
                       "points": [[x1, y1], [x2, y1], [x2, y2], [x1, y2]], "group_id": None,
                       "flags": {}} for x1, y1, x2, y2 in _rects(rng, 640, 480, MASKS)]
            doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": f"{i}.png",
                   "imageData": None, "imageHeight": 480, "imageWidth": 640}
            (out / f"{i}.json").write_text(json.dumps(doc), encoding="utf-8")
            (out / f"{i}.png").write_bytes(_png(i))
    return out


def yolo(out: Path, images: int) -> Path:
    if not out.exists():
        labels = out / "labels" / "train"
        labels.mkdir(parents=True)
        (out / "images" / "train").mkdir(parents=True)
        (out / "data.yaml").write_text("path: .\ntrain: images/train\nnames: [cat, dog, bird]\n",
                                       encoding="utf-8")
        rng = random.Random(0)
        for i in range(images):
            (out / "images" / "train" / f"{i}.png").write_bytes(_png(i))
            lines = []
            for x1, y1, x2, y2 in _rects(rng, 640, 480, MASKS):
                pts = [x1 / 640, y1 / 480, x2 / 640, y1 / 480, x2 / 640, y2 / 480, x1 / 640, y2 / 480]
                lines.append(f"{rng.randrange(3)} " + " ".join(f"{v:.5f}" for v in pts))
            (labels / f"{i}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def make(layout: str, images: int, root: Path) -> Path:
    if layout == "sa1b-folder":
        return sa1b(root / f"sa1b-folder-{images}", images, tar=False)
    if layout == "sa1b-tar":
        return sa1b(root / f"sa1b-tar-{images}", images, tar=True)
    if layout == "jsonl":
        return jsonl(root / f"records-{images}.jsonl", images, root)
    if layout == "labelme":
        return labelme(root / f"labelme-png-{images}", images)
    return yolo(root / f"yolo-png-{images}", images)


def startup(root: Path) -> float:
    """Wall time of a lint of one tiny image: the interpreter, imports and setup, which do
    not grow with the data and are taken off before judging linearity."""
    tiny = root / "tiny.json"
    tiny.write_text(json.dumps({"images": [{"id": 1, "file_name": "a.jpg", "width": 8, "height": 8}],
                                "annotations": [], "categories": [{"id": 1, "name": "a"}]}))
    return statistics.median(run(lint_cmd(tiny))[0] for _ in range(3))


def lint_cmd(path: Path) -> list[str]:
    return [sys.executable, "-m", "maskcheck", "lint", str(path), "-j", "1", "--no-progress",
            "--exit-zero", "-f", "json", "-o", "/dev/null"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=1000, help="the 1x size")
    ap.add_argument("--layouts", default=",".join(LAYOUTS))
    ap.add_argument("--runs", type=int, default=1, help="runs per size (the median is shown)")
    a = ap.parse_args()
    root = HERE / ".data" / "scale"
    root.mkdir(parents=True, exist_ok=True)
    fixed = startup(root)
    print(f"startup (a one-image lint): {fixed:.2f} s, taken off the wall before wall/linear")
    print(f"{'layout':12} {'images':>7} {'wall s':>8} {'peak MiB':>9} {'wall/linear':>12} "
          f"{'peak/1x':>8}")
    for layout in a.layouts.split(","):
        base: tuple[float, float] | None = None
        for k in (1, 2, 4):
            n = a.images * k
            path = make(layout, n, root)
            runs = [run(lint_cmd(path)) for _ in range(a.runs)]
            wall = statistics.median(r[0] for r in runs)
            peak = statistics.median(r[1] for r in runs)
            base = base or (wall, peak)
            linear = (wall - fixed) / (k * (base[0] - fixed))
            print(f"{layout:12} {n:7,} {wall:8.2f} {peak:9.0f} {linear:12.2f} "
                  f"{peak / base[1]:8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
