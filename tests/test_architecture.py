"""The module graph: no import cycle, no import inside a function, rules never import readers
(tools/import_graph.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "import_graph.py"


def _tool():
    spec = importlib.util.spec_from_file_location("import_graph", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_graph"] = module
    spec.loader.exec_module(module)
    return module


def test_no_import_cycle_and_no_rule_imports_a_reader():
    tool = _tool()
    graph, late = tool.scan()
    assert "maskcheck.rules.labels" in graph and "maskcheck.readers.coco" in graph
    assert tool.cycles(graph) == []
    assert tool.rules_importing_readers(graph) == {}
    # imports inside functions are how cycles hide: there are none
    assert late == {}


def test_the_tool_finds_a_cycle_and_a_late_import(tmp_path, monkeypatch):
    tool = _tool()
    pkg = tmp_path / "maskcheck"
    (pkg / "rules").mkdir(parents=True)
    (pkg / "readers").mkdir()
    for init in (pkg, pkg / "rules", pkg / "readers"):
        (init / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from maskcheck import b\n")
    (pkg / "b.py").write_text("import maskcheck.a\n\ndef f():\n    from maskcheck import c\n")
    (pkg / "c.py").write_text("")
    (pkg / "rules" / "r.py").write_text("from maskcheck.readers import coco\n")
    (pkg / "readers" / "coco.py").write_text("")
    monkeypatch.setattr(tool, "SRC", tmp_path)
    graph, late = tool.scan()
    assert tool.cycles(graph) == [["maskcheck.a", "maskcheck.b"]]
    assert late == {"maskcheck.b": [(4, "maskcheck.c")]}
    assert tool.rules_importing_readers(graph) == {"maskcheck.rules.r": ["maskcheck.readers",
                                                                  "maskcheck.readers.coco"]}
