"""``neurosim map ... --output DIR``: layout.json (a Layout the budget accepts), quality.json (the
report, with its run), the figures; ``--activity FILE``; bad input exits 2 with one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import neurosim as ns
import neurosim.mapping as nm
from neurosim import cli
from neurosim.hardware.layout import Layout

H = 300  # two cores on Loihi under snap1: packets cross between them
ARGS = ["map", "--model", "rnn:density=0.1,n_layers=2", "--n-hidden", str(H), "--rule", "snap1", "--profile", "loihi"]
N_UNITS = 2 * H


def model():
    return ns.models.make("rnn", n_in=8, n_out=2, n_hidden=H, n_layers=2, density=0.1)


def packets(layout: Layout, rate: np.ndarray) -> float:
    """The definition, recounted: each unit's rate × the other cores holding one of its targets
    (the next layer, its recurrent targets, and for the top layer the readout on its unit 0)."""
    m = model()
    masks = m.param_masks()
    part = [layout.core_of(layer, H) for layer in range(2)]
    total = 0.0
    for layer in range(2):
        for j in range(H):
            cores = set(part[layer][np.flatnonzero(masks[f"layer{layer}.W"][:, j])].tolist())  # W[post, pre]
            cores |= set(part[1].tolist()) if layer == 0 else {int(part[1][0])}
            total += rate[layer * H + j] * len(cores - {int(part[layer][j])})
    return total


def test_output_dir_holds_the_layout_the_report_and_the_figures(tmp_path, capsys):
    out = tmp_path / "map"
    assert cli.main([*ARGS, "--method", "greedy", "--output", str(out)]) == 0
    said = capsys.readouterr().out
    assert "cores" in said and f"wrote {out}/" in said
    assert sorted(p.name for p in out.iterdir()) == [
        "layout.json", "mapping_mesh.png", "mapping_regions.png", "mesh.png", "quality.json", "region_bars.png",
        "report.html", "report.json", "report.md"]  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "mapping" and report["source"]["layout"] == json.loads((out / "layout.json").read_text())
    text = (out / "layout.json").read_text()
    layout = Layout.from_json(text)
    assert json.loads(Layout.from_json(layout.to_json()).to_json()) == json.loads(text)  # JSON round trip
    b = ns.hardware.budget(model(), ns.rules.make("snap1"), ns.hardware.load_profile("loihi"), layout)
    assert b.fits
    q = json.loads((out / "quality.json").read_text())
    assert q["schema"] == "neurosim.mapping.quality/1" and q["method"] == "greedy" and q["rule"] == "snap1"
    rep = q["report"]
    assert rep["cores_used"] == len(layout.cores) and rep["units"] == N_UNITS
    for c in layout.cores:  # the report's neuron counts are the layout's
        assert rep["utilisation"][str(c.core)]["neurons"] == pytest.approx(c.n_units / 1024)
    assert len(layout.cores) > 1 and rep["packets_per_step"] == pytest.approx(packets(layout, np.ones(N_UNITS)))
    for name in ("mesh.png", "region_bars.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_activity_files_weight_the_packets(tmp_path, capsys):
    """One rate per unit (layer after layer), from .npy and from .json alike: the report's packets
    are those rates over the layout's cores (the definition, recounted); uniform rates are not."""
    rng = np.random.default_rng(0)
    rate = rng.random(N_UNITS) * (rng.random(N_UNITS) < 0.5)
    np.save(tmp_path / "rates.npy", rate)
    (tmp_path / "rates.json").write_text(json.dumps(rate.tolist()))
    reports = []
    for f in ("rates.npy", "rates.json"):
        out = tmp_path / f.replace(".", "_")
        assert cli.main([*ARGS, "--method", "greedy", "--activity", str(tmp_path / f), "--output", str(out)]) == 0
        layout = Layout.from_json((out / "layout.json").read_text())
        q = json.loads((out / "quality.json").read_text())
        assert q["activity"] == str(tmp_path / f)
        reports.append(q["report"])
        assert q["report"]["packets_per_step"] == pytest.approx(packets(layout, rate))
        assert q["report"]["packets_per_step"] != pytest.approx(packets(layout, np.ones(N_UNITS)))
    assert reports[0] == reports[1]
    assert cli.main([*ARGS, "--method", "greedy", "--activity", "0.25", "--output", str(tmp_path / "n")]) == 0
    layout = Layout.from_json((tmp_path / "n" / "layout.json").read_text())
    rep = json.loads((tmp_path / "n" / "quality.json").read_text())["report"]
    assert rep["packets_per_step"] == pytest.approx(packets(layout, np.full(N_UNITS, 0.25)))
    capsys.readouterr()


def test_the_same_mapping_as_the_api(tmp_path):
    assert cli.main([*ARGS, "--method", "hypergraph", "--seed", "2", "--output", str(tmp_path)]) == 0
    res = nm.map_network(model(), "loihi", rule=ns.rules.make("snap1"), method="hypergraph", seed=2)
    assert Layout.from_json((tmp_path / "layout.json").read_text()) == res.layout
    assert json.loads((tmp_path / "quality.json").read_text())["report"] == json.loads(json.dumps(res.report))


@pytest.mark.parametrize(
    "extra,write,said",
    [
        (["--method", "spectral"], None, "--method 'spectral': allowed one of auto, round_robin"),
        (["--activity", "{d}/missing.npy"], None, "missing.npy: cannot be read (No such file or directory)"),
        (
            ["--activity", "{d}/short.npy"],
            ("short.npy", np.ones(7)),
            "short.npy: has shape (7,) (float64); allowed 600",
        ),
        (
            ["--activity", "{d}/neg.json"],
            ("neg.json", [1.0] * 41 + [-2.0] + [1.0] * 558),
            "neg.json: unit 41 has rate -2.0",
        ),
        (
            ["--activity", "{d}/obj.json"],
            ("obj.json", {"rates": [1.0]}),
            "obj.json: cannot be read (the JSON is not a list",
        ),
        (["--activity", "{d}/bad.json"], ("bad.json", "not json"), "bad.json: cannot be read"),
        (["--activity", "{d}/rates.txt"], ("rates.txt", "1 2 3"), "rates.txt: neither a number nor a .npy or .json"),
        (["--activity", "-1"], None, "--activity -1: allowed a finite number >= 0"),
        (["--time-limit", "0"], None, "--time-limit 0.0: allowed a positive number of seconds"),
        (["--time-limit", "nan"], None, "--time-limit nan: allowed a positive number of seconds"),
        (["--output", "{d}/file"], ("file", "x"), "is an existing file"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, extra, write, said):
    if write is not None:
        name, content = write
        if name.endswith(".npy"):
            np.save(tmp_path / name, content)
        elif isinstance(content, str):
            (tmp_path / name).write_text(content)
        else:
            (tmp_path / name).write_text(json.dumps(content))
    argv = [*ARGS, *(a.format(d=tmp_path) for a in extra)]
    if "--output" not in extra:
        argv += ["--output", str(tmp_path / "out")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurosim: error: ") and said in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()  # refused before the output directory is made


def test_judge_prints_the_chip_simulations_step_time_and_energy(tmp_path, capsys):
    """``--judge 4``: the judge's numbers, as ``map_network(judge_steps=4)`` gives them; without
    ``--judge`` no judge line and no judge in the report (negative control)."""
    args = [*ARGS[:-1], "loihi2"]  # Loihi 1 cannot run a rate model (the judge would skip it)
    assert cli.main([*args, "--method", "greedy", "--judge", "4", "--output", str(tmp_path / "j")]) == 0
    said = capsys.readouterr().out
    res = nm.map_network(model(), "loihi2", rule=ns.rules.make("snap1"), method="greedy", judge_steps=4)
    j = res.report["judge"]
    assert j["timesteps"] == 4 and "skipped" not in j
    line = next(s for s in said.splitlines() if s.strip().startswith("judge"))
    assert f"{j['step_ns_mean']:.1f} ns" in line and f"{j['energy_pj_per_step']:.4g} pJ/step" in line
    rep = json.loads((tmp_path / "j" / "quality.json").read_text())["report"]
    assert rep["judge"] == pytest.approx(j)
    assert cli.main([*args, "--method", "greedy", "--output", str(tmp_path / "n")]) == 0
    assert not [s for s in capsys.readouterr().out.splitlines() if s.strip().startswith("judge")]
    assert "judge" not in json.loads((tmp_path / "n" / "quality.json").read_text())["report"]
    assert cli.main([*ARGS, "--judge", "0"]) == 2
    assert "--judge 0: allowed a positive number of timesteps" in capsys.readouterr().err


def test_a_board_profile_maps_over_several_chips_and_says_which(tmp_path, capsys):
    """4100 units (more than a SpiNNaker chip's 16 × 256) on spinnaker_board48: the printed chips
    are those of the layout's cores, the figures skip the one-chip mesh, the judge says why it
    skips."""
    out = tmp_path / "b"
    argv = ["map", "--model", "rnn:density=0.005", "--n-hidden", "4100", "--n-out", "1", "--profile",
            "spinnaker_board48", "--method", "hypergraph", "--judge", "--output", str(out)]  # fmt: skip
    assert cli.main(argv) == 0
    said = capsys.readouterr().out
    layout = Layout.from_json((out / "layout.json").read_text())
    chips = sorted({c.chip for c in layout.cores})
    assert len(chips) >= 2 and all(sum(c.chip == k for c in layout.cores) <= 16 for k in chips)
    assert f"board: {len(chips)} of 48 chips used (chips {', '.join(map(str, chips))})" in said
    assert "judge: skipped: the layout spans" in said and "no mesh.png" in said
    assert sorted(p.name for p in out.iterdir()) == [
        "layout.json", "mapping_regions.png", "quality.json", "region_bars.png", "report.html", "report.json",
        "report.md"]  # fmt: skip
    rep = json.loads((out / "quality.json").read_text())["report"]
    assert rep["board"]["chips"] == chips and rep["cores_used"] == len(layout.cores)
