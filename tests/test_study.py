"""The gradient-quality study runs end to end at tiny sizes and writes its JSON and figure."""

from __future__ import annotations

import json

import numpy as np

from neurosim.cli import main
from neurosim.experiments import gradient_quality as gq


def test_quick_study_writes_json_and_figure(tmp_path, capsys):
    assert main(["study", "gradient-quality", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "gradient_quality.json").read_text())
    assert res["schema"] == gq.SCHEMA
    png = (tmp_path / "gradient_quality.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    s = gq.default_settings(quick=True)
    assert len(res["cells"]) == len(s["depths"]) * len(s["r_mins"])
    for cell in res["cells"]:
        sim = cell["similarity_trained"]
        assert sim["bptt"]["cosine"] > 1 - 1e-9  # the reference against itself
        # identities that must show in the numbers: snap1 = online_lru on the LRU
        assert abs(sim["snap1"]["cosine"] - sim["online_lru"]["cosine"]) < 1e-9
        assert sim["spatial"]["cosine"] < 1 - 1e-6  # and a biased rule is not exact
        assert (sim["rflo"] is None) == (cell["depth"] > 1)
        for tr in cell["training"].values():
            if tr is not None:
                assert len(tr["curve"]) == s["steps"] and np.isfinite(tr["final_loss"])
    assert set(res["orderings"]) >= {"cosine: snap1 == online_lru on the LRU (every cell)"}
    assert res["orderings"]["cosine: snap1 == online_lru on the LRU (every cell)"] is True
    assert set(res["orderings"]) <= set(gq.CLAIMS)  # every claim checked has its source
    assert [c["claim"] for c in res["claims"]] == list(res["orderings"])
    out = capsys.readouterr().out
    assert "Zucchet et al. 2023" in out and "algorithms.md" not in out  # a source the reader can find
