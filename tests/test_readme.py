"""The README's Python example runs as written (with every ``steps=`` cut to 1 to keep it fast)."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_use_example_runs():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text.split("## Use", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert "ns.train(" in code and "total_gradient" in code
    code = re.sub(r"steps=\d+", "steps=1", code)
    namespace: dict = {}
    exec(compile(code, "README.md[Use]", "exec"), namespace)
    assert namespace["rule"].memory_floats(namespace["model"]) > 0


def test_readme_tour_commands_run_as_written(tmp_path, monkeypatch, capsys):
    """Every command of the five-minute tour, as the README writes it, in a fresh directory, with
    ``NEUROSIM_MAX_STEPS=2``: exit code 0, and each ``--output`` directory holds a report valid
    against the schema. Control: the cap is what shortened them (a bad value is refused)."""
    import json
    import shlex

    import jsonschema

    import neurosim as ns
    from neurosim import cli

    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    commands = [shlex.split(line) for line in block.strip().splitlines()]
    assert len(commands) == 4 and all(c[0] == "neurosim" for c in commands)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEUROSIM_MAX_STEPS", "2")
    schema = json.loads(ns.report.SCHEMA_FILE.read_text())
    for argv in commands:
        assert cli.main(argv[1:]) == 0, argv
        if "--output" in argv:
            out = tmp_path / argv[argv.index("--output") + 1]
            d = json.loads((out / "report.json").read_text())
            jsonschema.validate(d, schema)
            assert (out / "report.html").stat().st_size > 1000
    assert "cut to 2 by NEUROSIM_MAX_STEPS" in capsys.readouterr().err
    monkeypatch.setenv("NEUROSIM_MAX_STEPS", "zero")
    assert cli.main(commands[2][1:]) == 2
    assert "NEUROSIM_MAX_STEPS='zero'" in capsys.readouterr().err


def test_readme_tables_are_what_the_code_declares():
    """The rules and chips tables between their markers are what ``neurosim.report.tables``
    computes from the rules' declarations and the bundled profiles now. Controls: a README with
    one cell changed is rewritten; the growth column reads the leading power of n."""
    from neurosim.report import tables

    text = (Path(__file__).parents[1] / "README.md").read_text()
    assert tables.replace(text) == text, (
        "the README's tables are stale: python -m neurosim.report.tables --write README.md"
    )
    i, j = tables.marked(text, "rules")
    stale = text[:i] + text[i:j].replace("282,624", "282,625", 1) + text[j:]
    assert stale != text and tables.replace(stale) == text
    assert [tables._growth(n**3 + 5 * n, (2 * n) ** 3 + 10 * n) for n in (256,)] == ["n³"]
    assert tables._growth(0, 0) == "–"
    rows = {r[0].strip("`").split("(")[0]: r for r in tables.rule_rows()}
    import neurosim as ns

    model = ns.models.make("rnn", n_in=tables.N_IN, n_out=tables.N_OUT, n_hidden=tables.AT)
    assert rows["rtrl"][3] == f"{ns.rules.make('rtrl').memory_floats(model):,}"
