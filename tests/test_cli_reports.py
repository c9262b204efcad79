"""Every CLI command end to end on a small case: the files ``--output DIR`` writes (report.json
valid against the shipped schema, of the command's kind, its figures PNGs), ``--quiet`` printing
nothing, ``--json`` printing one JSON document and nothing else, the same option names on every
command, an example in every ``--help``, and exit code 2 with one line on bad input."""

from __future__ import annotations

import json

import pytest

import neurosim as ns
from neurosim import cli

jsonschema = pytest.importorskip("jsonschema")

# command: (arguments of a small case, the report's kind, files besides the report's own)
CASES = {
    "train": (["train", "--steps", "2"], "training", ["metrics.json", "params.npz", "learning_curve.png"]),
    "budget": (
        [
            "budget",
            "--model",
            "rnn",
            "--n-hidden",
            "16",
            "--rule",
            "snap1",
            "--rule",
            "rtrl",
            "--profile",
            "loihi",
            "--search-max",
            "64",
        ],
        "comparison",
        ["memory_vs_n_hidden_1.png"],
    ),  # fmt: skip
    "compare": (["compare", "--rule", "online_lru", "--profile", "loihi2"], "comparison", []),
    "map": (
        ["map", "--model", "rnn:density=0.2", "--n-hidden", "60", "--rule", "snap1", "--profile", "loihi"],
        "mapping",
        ["layout.json", "quality.json", "mesh.png", "region_bars.png"],
    ),  # fmt: skip
    "profiles": (["profiles"], "profiles", []),
    "study": (["study", "gradient-quality", "--quick"], "study", ["gradient_quality.json", "gradient_quality.png"]),
    "warmup": (["warmup", "--dtype", "float64"], "kernels", []),
    "sweep": (["sweep", "{spec}", "--scheduler", "inline"], "sweep", ["results.csv", "summary.md", "summary.png"]),
}
SWEEP = """[sweep]
seeds = [0, 1]
[base.model]
name = "lru"
n_hidden = 4
[base.task]
name = "copy"
pattern_len = 2
pad = 1
[base.train]
steps = 2
batch_size = 2
[grid]
"rule.name" = ["online_lru", "spatial"]
"""
# command: (bad arguments, what the one line on stderr must name)
BAD = {
    "train": (["train", "--steps", "2", "--output", ""], "--output"),
    "budget": (["budget", "--model", "rnn", "--profile", "nosuch"], "nosuch"),
    "compare": (["compare", "--rule", "nosuch"], "nosuch"),
    "map": (["map", "--model", "rnn", "--profile", "loihi", "--method", "nosuch"], "nosuch"),
    "profiles": (["profiles", "nosuch"], "nosuch"),
    "study": (["study", "gradient-quality", "--quick", "--output", ""], "--output"),
    "warmup": (["warmup", "--output", ""], "--output"),
    "sweep": (["sweep", "nosuch.toml"], "nosuch.toml"),
}


def _validator():
    schema = json.loads(ns.report.SCHEMA_FILE.read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_every_command_is_covered():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    assert set(sub.choices) == set(cli.COMMANDS) == set(CASES) == set(BAD)


@pytest.mark.parametrize("command", sorted(CASES))
def test_a_command_writes_its_report_and_figures(command, tmp_path, capsys):
    argv, kind, extra = CASES[command]
    if "{spec}" in argv:
        (tmp_path / "spec.toml").write_text(SWEEP)
        argv = [str(tmp_path / "spec.toml") if a == "{spec}" else a for a in argv]
    out = tmp_path / "out"
    assert cli.main([*argv, "--output", str(out), "--quiet"]) == 0
    assert capsys.readouterr().out == ""  # --quiet: nothing on stdout
    report = json.loads((out / "report.json").read_text())
    errors = [e.message for e in _validator().iter_errors(report)]
    assert not errors, errors
    assert report["kind"] == kind
    files = {p.name for p in out.iterdir()}
    assert {"report.json", "report.md", "report.html", *extra} <= files, files
    for f in report["figures"]:  # every figure the report names is a PNG beside it, linked from the Markdown
        assert (out / f["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({f['file']})" in (out / "report.md").read_text()
    assert (out / "report.html").read_text().count("data:image/png;base64,") == len(report["figures"])


@pytest.mark.parametrize("command", ["train", "compare", "profiles", "warmup", "study"])
def test_json_to_stdout_is_the_only_thing_printed_there(command, capsys):
    argv, kind, _ = CASES[command]
    if command in ("train", "study"):  # they write files: into a fresh directory
        argv = [*argv, "--output", f"{pytest.importorskip('tempfile').mkdtemp()}/out"]
    assert cli.main([*argv, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)  # one JSON document, nothing around it
    assert got["kind"] == kind and not list(_validator().iter_errors(got))


def test_json_to_a_path_writes_the_same_document(tmp_path, capsys):
    path = tmp_path / "p.json"
    assert cli.main(["profiles", "loihi2", "--json", str(path)]) == 0
    d = json.loads(path.read_text())
    assert d["kind"] == "profiles" and d["source"]["profiles"][0]["name"] == "loihi2"
    values = d["source"]["profiles"][0]["values"]
    assert values["ops.synop_energy_pj"]["value"] == ns.hardware.load_profile("loihi2").ops.synop_energy_pj
    assert f"wrote {path}" in capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(BAD))
def test_bad_input_exits_2_with_one_line(command, capsys):
    argv, named = BAD[command]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("neurosim: error:") and named in err[0], err


@pytest.mark.parametrize("command", sorted(CASES))
def test_help_has_an_example_and_the_shared_options(command, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([command, "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert f"example:\n  neurosim {command}" in text
    for option in ("--output", "--json", "--quiet"):
        assert option in text, (command, option)


@pytest.mark.parametrize("command", ["train", "compare", "profiles", "warmup", "study"])
def test_a_bad_json_path_is_refused_before_any_work(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv, _, _ = CASES[command]
    (tmp_path / "adir").mkdir()
    for dest in ("", "adir"):
        assert cli.main([*argv, "--output", "out", "--json", dest]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--json" in err[0] and "allowed a file path" in err[0]
    assert not (tmp_path / "out").exists()  # nothing ran


def test_profiles_schema_takes_the_shared_options(tmp_path, capsys):
    assert cli.main(["profiles", "--schema", "--json"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["type"] == "object"
    assert cli.main(["profiles", "--schema", "--output", str(tmp_path / "s"), "--quiet"]) == 0
    assert json.loads((tmp_path / "s" / "profile.schema.json").read_text()) == schema


def test_chip_options_without_a_chip_are_refused(capsys):
    for argv in (["--layout", "x.json"], ["--formats", "float"], ["--steps", "0"]):
        assert cli.main(["train", *argv]) == 2
        assert capsys.readouterr().err.count("\n") == 1


def test_compare_says_when_a_chip_cannot_run_the_model(tmp_path, capsys):
    assert cli.main(["compare", "--rule", "online_lru", "--profile", "loihi", "--profile", "loihi2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    rows = {r[0]: r[1:] for r in d["sections"][0]["table"]["rows"]}
    assert rows["runs as is"] == ["no", "yes"]  # Loihi 1's binary spikes cannot carry an LRU's activations
