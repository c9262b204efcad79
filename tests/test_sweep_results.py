"""The committed reproductions (``results/sweeps/NAME``) are what their specs
(``examples/sweeps/NAME.toml``) ran: every cell of the spec has its record, and the committed
summary is the one the records give. With ``tests/test_readme.py`` (the README's tables are those
summaries'), the README's numbers cannot drift from the results files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import neurosim as ns
from neurosim.sweep import runner, summary

ROOT = Path(__file__).parents[1]
RESULTS = sorted(p for p in (ROOT / "results" / "sweeps").glob("*") if (p / "summary.json").exists())


def test_there_are_committed_reproductions():
    assert {p.name for p in RESULTS} >= {"zucchet_digits"}


@pytest.mark.parametrize("path", RESULTS, ids=lambda p: p.name)
def test_a_committed_summary_is_its_records(path):
    spec = ns.sweep.load(ROOT / "examples" / "sweeps" / f"{path.name}.toml")
    records = [runner.read_record(path, c.id) for c in spec.cells]
    missing = [c.overrides for c, r in zip(spec.cells, records) if r is None]
    assert not missing, f"{path.name}: cells of the spec without a record (the spec changed after the run?)"
    for c, r in zip(spec.cells, records):
        assert r["config"] == c.config and r["overrides"] == c.overrides
    committed = json.loads((path / "summary.json").read_text())
    assert summary.summarise(spec, records) == committed
    # control: one record's metric changed gives another summary
    if records and records[0]["status"] == "ok" and spec.metric in records[0]["metrics"]:
        changed = [dict(records[0], metrics={**records[0]["metrics"], spec.metric: -1.0}), *records[1:]]
        assert summary.summarise(spec, changed) != committed
