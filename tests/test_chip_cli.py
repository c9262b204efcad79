"""``neurosim train --profile``: the same run on a chip beside the float run — chip_run.json and
its figures — and a chip that cannot run the model refused before anything trains."""

from __future__ import annotations

import json

from helpers import RUN_CONFIG

from neurosim import cli


def _config(tmp_path, out):
    path = tmp_path / "run.toml"
    path.write_text(RUN_CONFIG + f'[output]\ndir = "{out}"\n')
    return str(path)


def test_train_on_a_chip_writes_its_run_and_figures_beside_the_float_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", _config(tmp_path, out), "--profile", "loihi2"]) == 0
    for name in ("metrics.json", "chip_run.json", "chip_cycles.png", "chip_energy.png", "chip_learning_curve.png"):
        assert (out / name).stat().st_size > 0, name
    chip = json.loads((out / "chip_run.json").read_text())
    floats = json.loads((out / "metrics.json").read_text())
    assert chip["schema"] == "neurosim.chip/2" and chip["profile"] == "loihi2" and chip["formats"] == "profile"
    assert len(chip["losses"]) == floats["iterations"] == 3
    assert "on loihi2: final loss" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())  # ns.report's, beside them
    assert report["schema"] == "neurosim.report/2" and report["kind"] == "chip_run"
    assert report["source"]["losses"] == chip["losses"]
    assert {f["file"] for f in report["figures"]} <= {p.name for p in out.iterdir()}
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(report["figures"])
    # float formats on the chip: the float run's losses exactly
    out2 = tmp_path / "run2"
    assert cli.main(["train", _config(tmp_path, out2), "--profile", "loihi2", "--formats", "float"]) == 0
    chip = json.loads((out2 / "chip_run.json").read_text())
    assert chip["losses"] == [m["loss"] for m in json.loads((out2 / "metrics.json").read_text())["metrics"]]


def test_a_chip_that_cannot_run_the_model_is_refused_before_training(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", _config(tmp_path, out), "--profile", "reckon"]) == 2
    err = capsys.readouterr().err
    assert "reckon cannot run a gru model as it is: its messages are binary spikes" in err
    assert not (out / "metrics.json").exists()  # nothing trained
    bad = tmp_path / "layout.json"
    bad.write_text("{}")
    assert cli.main(["train", _config(tmp_path, out), "--profile", "loihi2", "--layout", str(bad)]) == 2
    assert f"--layout {bad}: layout: schema is None" in capsys.readouterr().err


def test_chip_steps_runs_the_first_iterations_on_the_chip_and_is_checked_first(tmp_path, capsys):
    """``--chip-steps 2`` of a 3-iteration run: the chip runs the first 2, in float formats equal to
    the float run's first 2 losses; out of range or without --profile it is refused before the
    output directory is made."""
    out = tmp_path / "run"
    assert cli.main(["train", _config(tmp_path, out), "--profile", "loihi2", "--formats", "float",
                     "--chip-steps", "2"]) == 0  # fmt: skip
    chip = json.loads((out / "chip_run.json").read_text())
    floats = [m["loss"] for m in json.loads((out / "metrics.json").read_text())["metrics"]]
    assert len(floats) == 3 and chip["losses"] == floats[:2]
    for bad, why in ((["--profile", "loihi2", "--chip-steps", "4"], "allowed: 1 … 3"),
                     (["--profile", "loihi2", "--chip-steps", "0"], "allowed: 1 … 3"),
                     (["--chip-steps", "2"], "needs --profile")):  # fmt: skip
        fresh = tmp_path / f"bad{len(why)}{bad[-1]}"
        assert cli.main(["train", _config(tmp_path, fresh), *bad]) == 2
        assert why in capsys.readouterr().err
        assert not fresh.exists()
