"""The command line: strict configs and a real (shortened) quickstart run writing its outputs."""

from __future__ import annotations

import json

import pytest

from neurosim import cli, config


def _write(tmp_path, text):
    p = tmp_path / "run.toml"
    p.write_text(text)
    return str(p)


GOOD = """
[model]
name = "gru"
n_hidden = 8
[rule]
name = "snap1"
[task]
name = "copy"
pattern_len = 3
pad = 1
[optimizer]
name = "adam"
lr = 0.01
[train]
steps = 3
batch_size = 4
"""


def test_config_runs_and_writes_outputs(tmp_path, capsys):
    path = _write(tmp_path, GOOD + f'[output]\ndir = "{tmp_path / "out"}"\n')
    assert cli.main(["train", path]) == 0
    summary = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert summary["schema"] == "neurosim.train/1" and len(summary["metrics"]) == 3
    assert (tmp_path / "out" / "learning_curve.png").stat().st_size > 1000
    assert (tmp_path / "out" / "params.npz").exists()
    assert "bit_accuracy" in capsys.readouterr().out


def test_quickstart_runs_from_the_cli(tmp_path, capsys):
    assert cli.main(["train", "--steps", "2", "--out", str(tmp_path / "qs")]) == 0
    out = capsys.readouterr().out
    assert "quickstart" in out and "loss" in out and "bit_accuracy" in out


@pytest.mark.parametrize(
    "text,pattern",
    [
        (
            GOOD.replace("n_hidden = 8", "n_hiden = 8"),
            r"\[model\] n_hiden = 8 is not an option of model 'gru'; allowed: n_in",
        ),
        (GOOD.replace('name = "snap1"', 'name = "snap9"'), r"\[rule\] name = 'snap9' is unknown; allowed: bptt"),
        (GOOD.replace("pad = 1", "padding_length = 1"), r"\[task\] padding_length = 1 is not an option of task 'copy'"),
        (GOOD + "[extra]\nx = 1\n", r"unknown section \[extra\]"),
        (GOOD.replace("steps = 3", "stepz = 3"), r"\[train\] stepz = 3 is unknown; allowed: steps"),
        (GOOD.replace("lr = 0.01", "lr = -0.01"), r"lr=-0.01 is invalid"),
        ("[model\nname=", r"not valid TOML"),
    ],
)
def test_config_errors_name_file_key_and_allowed(tmp_path, capsys, text, pattern):
    path = _write(tmp_path, text)
    with pytest.raises(config.ConfigError, match=pattern):
        model, rule, task, opt, kw = config.build(config.load(path), path)
    assert cli.main(["train", path]) == 2
    assert "run.toml" in capsys.readouterr().err


def test_example_configs_are_valid_and_match_the_builtin_quickstart():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "examples"
    for path in root.glob("*.toml"):
        config.build(config.load(path), str(path))
    assert config.load(root / "quickstart.toml") == config.validate(config.QUICKSTART)


def test_warmup_compiles_every_kernel(capsys):
    from neurosim.cli import main as cli_main
    from neurosim.kernels import SPECS

    assert cli_main(["warmup", "--dtype", "float64"]) == 0
    out = capsys.readouterr().out
    assert f"compiled or loaded {2 * len(SPECS) + 1} kernels" in out  # + the simulator's loop
    for name in SPECS:
        assert name in out
