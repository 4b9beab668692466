"""The probe's finding codes (MC6xx) and the collector that turns issues into findings.

Probe codes are not lint rules: they judge what a user's Python pipeline returns, not a
file, so a ```json page example could never exercise them. They are documented in
rules/PROBE.md (one `## CODE name` section each) and carry the same attributes as a rule
class (code, name, summary, severity, options) so reporters can treat them alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from maskcheck.docs import pages_dir
from maskcheck.model import Finding, Location, Severity


@dataclass(frozen=True, slots=True)
class ProbeCode:
    code: str
    name: str
    summary: str
    severity: Severity
    options: tuple = ()


_E, _W = Severity.ERROR, Severity.WARNING

CODES: dict[str, ProbeCode] = {c.code: c for c in (
    ProbeCode("MC601", "pipeline-crashed", "The transform or the dataset raised, or returned "
              "something that is not the expected structure.", _E),
    ProbeCode("MC602", "label-mask-mismatch", "An output label belongs to another instance "
              "than the mask at the same index.", _E),
    ProbeCode("MC603", "box-mask-out-of-step", "An output box does not match the mask at the same "
              "index (often: it fits another mask).", _E),
    ProbeCode("MC604", "target-length-mismatch", "Boxes, labels and masks have different "
              "lengths.", _E),
    ProbeCode("MC605", "empty-mask-kept", "A mask with no foreground pixel is kept (for example an "
              "instance cropped away).", _E),
    ProbeCode("MC606", "mask-size-mismatch", "Masks are not (N, H, W) with H, W equal to the "
              "image's.", _E),
    ProbeCode("MC607", "bad-label-dtype", "Labels are not an integer array of shape (N,) of "
              "the expected dtype (int64 for torchvision), or a transform changed their dtype.", _E),
    ProbeCode("MC608", "mask-image-mismatch", "A mask no longer lies on its object in the "
              "image (the image and the masks were transformed differently).", _E),
    ProbeCode("MC609", "bad-box-format", "Boxes are not a float array of shape (N, 4).", _E),
    ProbeCode("MC610", "degenerate-box", "A box with x2 <= x1 or y2 <= y1.", _E),
    ProbeCode("MC611", "box-leaves-image", "A box reaches outside the image.", _W),
    ProbeCode("MC612", "label-past-num-classes", "A label outside 0 .. num_classes - 1.", _E),
    ProbeCode("MC613", "background-label", "An instance labelled with the background index 0.", _E),
    ProbeCode("MC614", "missing-target-key", "The target lacks boxes, labels or masks.", _E),
    ProbeCode("MC615", "class-vanished", "A class frequent in the annotation file never comes "
              "out of the pipeline.", _E),
    ProbeCode("MC616", "label-collapse", "Every instance out of the pipeline has the same label "
              "although the annotation file has several classes.", _E),
    ProbeCode("MC619", "probe-inconclusive", "The probe could not check what it was asked to "
              "(no instances came out, or colours were too changed to tell instances apart).", _W),
)}


# What each probe can report (its Report.rules, so JUnit/SARIF list only these).
TRANSFORM_CODES = ("MC601", "MC602", "MC603", "MC604", "MC605", "MC606", "MC607", "MC608",
                   "MC609", "MC619")
DATASET_CODES = ("MC601", "MC603", "MC604", "MC605", "MC606", "MC607", "MC609", "MC610",
                 "MC611", "MC612", "MC613", "MC614", "MC615", "MC616", "MC619")


def page_section(key: str) -> str | None:
    """The rules/PROBE.md section of a probe code (`MC602`) or name (`label-mask-mismatch`),
    for `maskcheck explain`."""
    key = key.strip()
    code = next((c.code for c in CODES.values()
                 if c.code.lower() == key.lower() or c.name == key.lower()), None)
    folder = pages_dir()
    if code is None or folder is None or not (folder / "PROBE.md").is_file():
        return None
    text = (folder / "PROBE.md").read_text(encoding="utf-8")
    head = f"## {code} "
    start = text.find("\n" + head)
    if start < 0:
        return None
    end = text.find("\n## ", start + 1)
    return text[start + 1:end if end >= 0 else None].rstrip() + "\n"


@dataclass(slots=True)
class Issue:
    """One defect seen in one run, before runs are grouped into findings."""

    code: str
    detail: str  # what was seen, without the seed: identical details across runs merge


@dataclass(slots=True)
class _Group:
    code: str
    detail: str
    # (place, seed) pairs in the order seen; place is a sample index (dataset probe) or
    # None (transform probe: the seed alone names the input)
    runs: list[tuple[int | None, int]] = field(default_factory=list)
    unrepeated: bool = False  # its first seed, run again, did not show it


class Collector:
    """Groups issues by (code, detail): a defect seen identically in 50 runs or in every
    sample is one finding naming the first reproduction and the others, not 50 copies."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._groups: dict[tuple[str, str], _Group] = {}

    def add(self, issue: Issue, seed: int, place: int | None = None) -> None:
        key = (issue.code, issue.detail)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(issue.code, issue.detail)
        if (place, seed) not in group.runs:
            group.runs.append((place, seed))

    def first_seeds(self) -> list[int]:
        """The seed each transform-probe finding names first, in the order found."""
        return [g.runs[0][1] for g in self._groups.values() if g.runs[0][0] is None]

    def mark_unrepeated(self, seed: int, seen: set[tuple[str, str]]) -> None:
        """Seed `seed` was run again and showed `seen`: flag the findings it did not repeat."""
        for key, g in self._groups.items():
            if g.runs[0] == (None, seed) and key not in seen:
                g.unrepeated = True

    def codes(self) -> set[str]:
        return {g.code for g in self._groups.values()}

    def findings(self) -> list[Finding]:
        out = []
        for g in self._groups.values():
            place, seed = g.runs[0]
            if place is None:
                head, pointer, order = f"seed {seed}", f"/seed/{seed}", (0, seed)
            else:
                head, pointer, order = f"sample {place} (seed {seed})", f"/sample/{place}", (1, place, seed)
            places = list(dict.fromkeys(p for p, _ in g.runs))
            if len(places) > 1:
                more = _also("sample", [p for p in places[1:] if p is not None])
            else:
                more = _also("seed", [s for _, s in g.runs[1:]])
            note = (f" (not reproducible: seed {seed} run again did not show it; the pipeline "
                    "draws from a generator the probe cannot seed, such as a Compose of "
                    "albumentations 2 inside a function: probe the Compose itself)"
                    if g.unrepeated else "")
            out.append(to_finding(g.code, f"{head}: {g.detail}{more}{note}", self.path, pointer,
                                  order))
        return out


def _also(what: str, items: list[int]) -> str:
    if not items:
        return ""
    shown = ", ".join(map(str, items[:5]))
    rest = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return f" [also {what}{'s' if len(items) > 1 else ''} {shown}{rest}]"


def to_finding(code: str, message: str, path: str, pointer: str | None, order: tuple) -> Finding:
    c = CODES[code]
    return Finding(c.code, c.name, c.severity, message, Location(path=path, pointer=pointer), order)
