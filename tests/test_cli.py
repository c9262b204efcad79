"""The command line: strict configs and a real (shortened) quickstart run writing its outputs."""

from __future__ import annotations

import json

import pytest
from helpers import RUN_CONFIG

from neurosim import cli, config


def _write(tmp_path, text):
    p = tmp_path / "run.toml"
    p.write_text(text)
    return str(p)


GOOD = RUN_CONFIG


def test_config_runs_and_writes_outputs(tmp_path, capsys):
    path = _write(tmp_path, GOOD + f'[output]\ndir = "{tmp_path / "out"}"\n')
    assert cli.main(["train", path]) == 0
    summary = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert summary["schema"] == "neurosim.train/2" and len(summary["metrics"]) == 3
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
        # item 5: types are strict, and [train] errors name the file at load time
        (GOOD + 'resume = "false"\n', r"run.toml: \[train\] resume = 'false' is invalid: allowed true or false"),
        (GOOD.replace("steps = 3", "steps = 5.5"), r"\[train\] steps = 5.5 is invalid: allowed an integer >= 0"),
        (GOOD.replace("steps = 3", "steps = -1"), r"\[train\] steps = -1 is invalid: allowed an integer >= 0"),
        (GOOD.replace("batch_size = 4", 'batch_size = "4"'), r"\[train\] batch_size = '4' is invalid"),
        (GOOD + "update_every = 0\n", r"\[train\] update_every = 0 is invalid: allowed 'sequence' or an integer"),
        (GOOD + 'update_every = "seq"\n', r"\[train\] update_every = 'seq' is invalid"),
        (GOOD + "checkpoint_every = 2.0\n", r"\[train\] checkpoint_every = 2.0 is invalid: allowed an integer"),
        (GOOD + "seed = true\n", r"\[train\] seed = True is invalid: allowed an integer >= 0"),
        (GOOD + "clip = 0\n", r"\[train\] clip = 0 is invalid: allowed a finite number in \(0.0, inf\]"),
        (GOOD + 'clip = "1"\n', r"\[train\] clip = '1' is invalid: allowed a number > 0"),
        (GOOD + 'activity = "loud"\n', r"\[train\] activity = 'loud' is invalid"),
        (GOOD.replace("n_hidden = 8", "n_hidden = 8.0"), r"\[model\] n_hidden = 8.0 is invalid: allowed an integer"),
        (GOOD.replace("lr = 0.01", 'lr = "0.01"'), r"\[optimizer\] lr = '0.01' is invalid: allowed a number"),
        (GOOD.replace('name = "gru"', 'name = "lru"\nnorm = "false"'), r"\[model\] norm = 'false' is invalid"),
        (GOOD + "[output]\ndir = 3\n", r"\[output\] dir = 3 is invalid: allowed a non-empty path"),
        # another kind's option is not silently ignored; the list shows this kind's options only
        (
            GOOD.replace("n_hidden = 8", "n_hidden = 8\nalpha = 0.5"),
            r"\[model\] alpha = 0.5 is not an option of model 'gru'; allowed: n_in, n_out, n_hidden, n_layers, "
            r"dtype, density, mask, structure_seed, pool$",
        ),
        (
            GOOD.replace('name = "snap1"', 'name = "rtrl"\nk = 3'),
            r"\[rule\] k = 3 is not an option of rule 'rtrl'; allowed: none",
        ),
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


def test_config_path_that_is_not_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00binary")
    for path, said in ((tmp_path, "is a directory"), (tmp_path / "bin.toml", "not a text file")):
        assert cli.main(["train", str(path)]) == 2
        err = capsys.readouterr().err
        assert said in err and str(path) in err and len(err.strip().splitlines()) == 1


def test_version(capsys):
    import neurosim

    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"neurosim {neurosim.__version__}"


def test_a_reader_that_leaves_early_gets_no_traceback():
    """`neurosim profiles --schema | head`: the pipe's reader is gone before the first write."""
    import os
    import subprocess
    import sys

    r, w = os.pipe()
    os.close(r)
    proc = subprocess.run(
        [sys.executable, "-m", "neurosim.cli", "profiles", "--schema"], stdout=w, stderr=subprocess.PIPE, text=True
    )
    os.close(w)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141


def test_a_bad_environment_variable_breaks_only_the_command_that_needs_it(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "NEUROSIM_KERNELS": "bogus"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "neurosim.cli", *a], env=env, capture_output=True, text=True)  # noqa: E731
    assert run("--version").returncode == 0
    r = run("train", "--steps", "1", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert (
        r.stderr.strip().splitlines()[-1].startswith("neurosim: error: environment variable NEUROSIM_KERNELS='bogus'")
    )


def test_construction_errors_name_the_file_and_the_section(tmp_path, capsys):
    path = _write(tmp_path, GOOD.replace("n_hidden = 8", "n_hidden = 0"))
    assert cli.main(["train", path]) == 2
    assert "run.toml: [model] n_hidden=0 is invalid: allowed an integer >= 1" in capsys.readouterr().err


def test_warnings_are_one_line(tmp_path, capsys):
    """activity = "warn" on a silent network: a one-line warning, not Python's file:line and source."""
    text = (
        '[model]\nname = "lif"\nn_hidden = 6\nv_th = 100.0\n[rule]\nname = "eprop"\n[task]\nname = "evidence"\n'
        'n_cues = 1\ndelay_ms = 10\n[train]\nsteps = 1\nbatch_size = 1\nactivity = "warn"\n'
    )
    assert cli.main(["train", _write(tmp_path, text), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert err.startswith("neurosim: warning: spiking layer 0 fell silent in iteration 1") and "train.py" not in err


@pytest.mark.parametrize(
    "argv,said",
    [
        (["profiles", "--schema", "reckon"], "--schema prints the format of every profile"),
        (["study", "gradient-quality", "--quick", "--out", ""], "--output '': allowed a directory path"),
    ],
)
def test_options_that_would_be_ignored_are_refused(argv, said, capsys):
    assert cli.main(argv) == 2 and said in capsys.readouterr().err
