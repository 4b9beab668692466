"""The duplicate-id rules' disk spill (spill.py): the same answer as in memory, files removed."""

from __future__ import annotations

import numpy as np
import pytest

from maskcheck import spill
from maskcheck.spill import Pairs
from test_engine_properties import dirty_coco
from test_pool import doc


def naive(ids: np.ndarray, index: np.ndarray) -> set[tuple[int, int]]:
    values, counts = np.unique(ids, return_counts=True)
    many = set(values[counts > 1].tolist())
    return {(int(i), int(x)) for i, x in zip(ids, index, strict=True) if int(i) in many}


@pytest.mark.parametrize("memory", [5, 1000, 10**9])
def test_repeats_equal_the_in_memory_answer(tmp_path, monkeypatch, memory):
    monkeypatch.setenv("MASKCHECK_SPILL_DIR", str(tmp_path))
    monkeypatch.setattr(spill, "MEMORY_PAIRS", memory)
    rng = np.random.default_rng(0)
    ids = rng.integers(-(1 << 62), 1 << 62, 3000)
    ids[rng.integers(0, 3000, 200)] = ids[rng.integers(0, 3000, 200)]  # planted repeats
    ids[:50] = 7  # one id many times, across every chunk
    index = np.arange(3000) * 3
    state = Pairs()
    for lo in range(0, 3000, 37):
        state = state.merge(Pairs().add(ids[lo:lo + 37], index[lo:lo + 37]))
    assert len(state) == 3000
    assert bool(state.spilled) == (memory < 3000)
    found = set()
    for got_ids, got_index in spill.repeats(state):
        assert (np.diff(got_ids) >= 0).all()  # sorted by id, then by index
        same = got_ids[1:] == got_ids[:-1]
        assert (np.diff(got_index)[same] > 0).all()
        found |= set(zip(got_ids.tolist(), got_index.tolist(), strict=True))
    assert found == naive(ids, index) and len(found) > 50
    assert not list(tmp_path.iterdir()), "spill files left behind"


def test_no_repeats_gives_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKCHECK_SPILL_DIR", str(tmp_path))
    monkeypatch.setattr(spill, "MEMORY_PAIRS", 4)
    state = Pairs().add(np.arange(100), np.arange(100))
    assert state.spilled
    assert [len(i) for i, _ in spill.repeats(state)] == []
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("jobs", [1, 2])
def test_duplicate_id_findings_equal_with_a_spill(tmp_path, monkeypatch, jobs):
    """MC003/MC004 spilling every few ids (in pool workers too) report what they report in
    memory, at the same locations."""
    path = dirty_coco(tmp_path / "dirty", copies=3)
    kw = {"batch_size": 4, "jobs": jobs, "select": ["MC003", "MC004"]}
    in_memory, _ = doc([path], **kw)
    spills = tmp_path / "spill"
    spills.mkdir()
    monkeypatch.setenv("MASKCHECK_SPILL_DIR", str(spills))
    monkeypatch.setattr(spill, "MEMORY_PAIRS", 3)
    spilled, _ = doc([path], **kw)
    codes = {f["code"] for f in in_memory["findings"]}
    assert codes == {"MC003", "MC004"} and spilled == in_memory
    assert not list(spills.iterdir())
