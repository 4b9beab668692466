"""Plain-text pieces several reporters share: what was checked, counts per rule, the baseline line."""

from __future__ import annotations

from collections import Counter

from maskcheck.model import Report, Severity


def statistics_rows(report: Report) -> list[tuple[int, str, str, Severity]]:
    """(count, code, rule name, severity) per rule with findings, most frequent first."""
    counts = Counter((f.code, f.rule, f.severity) for f in report.findings)
    return sorted(((n, code, rule, sev) for (code, rule, sev), n in counts.items()),
                  key=lambda row: (-row[0], row[1]))


def statistics_text(report: Report) -> str:
    """`--statistics`: one aligned line per rule, like `ruff --statistics`."""
    rows = statistics_rows(report)
    if not rows:
        return ""
    width = max(len(f"{n:,}") for n, *_ in rows)
    name_width = max(len(rule) for _, _, rule, _ in rows)
    return "".join(f"{n:>{width},}  {code}  {rule:<{name_width}}  {sev}\n"
                   for n, code, rule, sev in rows)


def baseline_line(report: Report) -> str:
    """`12 findings matched the baseline and are not shown; 3 baselined findings are gone`."""
    n, gone = report.baselined or 0, report.baseline_gone or 0
    text = (f"{n:,} finding{'s' if n != 1 else ''} matched the baseline and "
            f"{'are' if n != 1 else 'is'} not shown")
    if gone:
        text += (f"; {gone:,} baselined finding{'s are' if gone != 1 else ' is'} gone "
                 "(fixed or removed: refresh the baseline with --write-baseline)")
    return text


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def what_was_checked(report: Report) -> str:
    """`120 images, 873 annotations in 1 file`; for a probe, its runs, seeds and samples."""
    probe = next((i["probe"] for i in report.inputs if "probe" in i), None)
    if probe is None:
        return (f"{plural(report.images, 'image')}, {plural(report.annotations, 'annotation')} "
                f"in {read_counts(report)}")
    first, last = probe["seeds"]
    seeds = f"seed {first}" if first == last else f"seeds {first}-{last}"
    size = "x".join(map(str, probe.get("image_size", ()))) or "generated"
    samples = (f"one {size} sample each" if probe["generated"]
               else f"{plural(probe['samples'], 'sample')} fetched under each seed")
    return (f"{plural(probe['runs'], 'run')} ({seeds}), {samples}, "
            f"{plural(report.annotations, 'instance')}")


def read_counts(report: Report) -> str:
    """`1 file`, or `3 datasets, 21 files`: what was read, counted truthfully."""
    datasets, files = len(report.inputs), report.files
    file_text = f"{files:,} file{'s' if files != 1 else ''}"
    if datasets == 1:
        return file_text
    return f"{datasets:,} datasets, {file_text}"
