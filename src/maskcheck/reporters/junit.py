"""`--format junit`: JUnit XML for CI test-report views (GitLab, Jenkins, Azure).

The shared schema (the Ant/Windy Road junit.xsd) allows at most one <failure> per
<testcase>, so "one testcase per rule, a failure per finding" is laid out as one
<testsuite> per enabled rule inside <testsuites>: a rule with no findings is one passing
testcase; a rule with findings has one failing testcase per finding, named by its
location. Unreadable inputs are a suite of their own with an <error> each.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from itertools import groupby

from maskcheck.model import Finding, Report

_SUITE_PREFIX = "maskcheck"


def _suite(parent: ET.Element, index: int, name: str, tests: int, failures: int, errors: int,
           stamp: str, host: str) -> ET.Element:
    suite = ET.SubElement(parent, "testsuite", {
        "name": name, "package": _SUITE_PREFIX, "id": str(index), "timestamp": stamp,
        "hostname": host, "tests": str(tests), "failures": str(failures),
        "errors": str(errors), "skipped": "0", "time": "0",
    })
    ET.SubElement(suite, "properties")
    return suite


def _close(suite: ET.Element) -> None:
    # The schema wants these two after the testcases, even when empty.
    ET.SubElement(suite, "system-out")
    ET.SubElement(suite, "system-err")


def _case(suite: ET.Element, name: str, classname: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"name": name, "classname": classname, "time": "0"})


def _xml_ok(c: str) -> bool:
    # XML 1.0's Char production: no C0 controls but tab/LF/CR, no surrogates, no FFFE/FFFF.
    o = ord(c)
    return c in "\t\n\r" or 0x20 <= o <= 0xD7FF or 0xE000 <= o <= 0xFFFD or o >= 0x10000


def _clean(text: str) -> str:
    # A message quoting raw bytes might hold what XML cannot carry: escape it visibly.
    return "".join(c if _xml_ok(c) else f"\\x{ord(c):02x}" if ord(c) <= 0xFF
                   else f"\\u{ord(c):04x}" for c in text)


def to_element(report: Report) -> ET.Element:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    host = socket.gethostname() or "localhost"
    root = ET.Element("testsuites")
    findings = sorted(report.findings, key=lambda f: f.code)
    by_code: dict[str, list[Finding]] = {code: list(g) for code, g in
                                         groupby(findings, key=lambda f: f.code)}
    rules = [(r.code, r.name) for r in sorted(report.rules, key=lambda r: r.code)]
    rules += sorted({(f.code, f.rule) for f in findings} - set(rules))  # MC000 rule-crashed
    index = 0
    for code, name in sorted(rules):
        items = by_code.get(code, [])
        classname = f"{_SUITE_PREFIX}.{code}.{name}"
        suite = _suite(root, index, f"{code} {name}", max(len(items), 1), len(items), 0,
                       stamp, host)
        if not items:
            _case(suite, f"{code} {name}", classname)
        for f in items:
            case = _case(suite, _clean(f.location.short()), classname)
            failure = ET.SubElement(case, "failure", {"message": _clean(f.message),
                                                      "type": str(f.severity)})
            failure.text = _clean(f"{f.location.short()}: {f.code} [{f.severity}] {f.message}")
        _close(suite)
        index += 1
    if report.errors:
        suite = _suite(root, index, "inputs", len(report.errors), 0, len(report.errors),
                       stamp, host)
        for e in report.errors:
            case = _case(suite, _clean(e.path), f"{_SUITE_PREFIX}.inputs")
            err = ET.SubElement(case, "error", {"message": _clean(e.message),
                                                "type": "unreadable-input"})
            err.text = _clean(str(e))
        _close(suite)
    return root


def render(report: Report) -> str:
    root = to_element(report)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
