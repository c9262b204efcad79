"""``ns.report``: one canonical JSON per result (valid against the shipped schema), rendered to
Markdown and to one self-contained HTML page; the page opened in a real headless Chromium at a
phone's width, its figures loaded and no console error. Negative controls: a broken document
fails the schema; a page with a missing image or a console error is caught by the browser check."""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest

import neurosim as ns

jsonschema = pytest.importorskip("jsonschema")


def _validator():
    schema = json.loads(ns.report.SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def results():
    lru = ns.models.make("lru", n_in=4, n_out=3, n_hidden=16, width=16, n_layers=2)
    loihi2 = ns.hardware.load_profile("loihi2")
    fits = ns.hardware.budget(lru, ns.rules.make("online_lru"), loihi2)
    big = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=600)  # RTRL's n³ traces cannot fit one core
    over = ns.hardware.budget(big, ns.rules.make("rtrl"), loihi2)
    task = ns.tasks.make("copy", seed=0, pattern_len=3, pad=1)
    model = ns.models.make("lru", n_in=task.n_in, n_out=task.n_out, n_hidden=6, width=8, n_layers=2)
    run = ns.chip.simulate(model, ns.rules.make("online_lru"), task, "loihi2", steps=4, batch_size=2)
    net = ns.models.make("rnn", n_in=4, n_out=2, n_hidden=300, density=0.1)
    mapped = ns.mapping.map_network(net, "loihi", ns.rules.make("snap1"))
    return {"budget": fits, "over": over, "chip_run": run, "mapping": mapped}


def _reports(results):
    return {
        "budget": ns.report.build(results["budget"]),
        "over": ns.report.build(results["over"]),
        "chip_run": ns.report.build(results["chip_run"]),
        "mapping": ns.report.build(results["mapping"], "loihi"),
        "comparison": ns.report.compare([ns.report.build(results["budget"]), ns.report.build(results["over"])]),
    }


def test_every_report_is_valid_against_the_schema_and_a_broken_one_is_not(results):
    v = _validator()
    reports = _reports(results)
    for name, r in reports.items():
        d = json.loads(r.to_json())  # strict JSON: no NaN
        errors = [e.message for e in v.iter_errors(d)]
        assert not errors, (name, errors)
        assert d["kind"] == ("budget" if name == "over" else name)
    # negative controls: each of these breaks the schema
    d = reports["budget"].to_dict()
    for broken in (
        {**d, "schema": "neurosim.report/0"},
        {k: x for k, x in d.items() if k != "kind"},
        {**d, "kind": "nonsense"},
        {**d, "figures": [{"title": "x", "file": "../escape.png", "caption": ""}]},
        {**d, "summary": [{"label": "cores", "value": [1, 2], "unit": ""}]},
        {**d, "extra": 1},
    ):
        assert list(v.iter_errors(broken)), broken


def test_reports_say_what_the_result_says(results):
    reports = _reports(results)
    b, r = results["budget"], reports["budget"]
    summary = {a: x for a, x, _ in r.summary}
    assert summary["fits"] is True and summary["cores"] == b.cores_used
    assert summary["step time"] == pytest.approx(b.step_ns)
    assert summary["energy per step"] == pytest.approx(sum(b.energy_pj.values()))
    assert r.source == b.to_dict()
    # the over-budget one names what does not fit and by how much, as the budget's culprits do
    over = results["over"]
    assert not over.fits
    table = next(s["table"] for s in reports["over"].sections if s["title"] == "What does not fit")
    assert len(table["rows"]) == len(over.culprits)
    row, c = table["rows"][0], over.culprits[0]
    assert (row[1], row[2], row[3], row[4]) == (c.region, c.needed, c.available, c.needed - c.available)
    run, cr = results["chip_run"], {a: x for a, x, _ in reports["chip_run"].summary}
    assert cr["iterations"] == len(run.losses) and cr["last loss"] == pytest.approx(run.losses[-1])
    m = {a: x for a, x, _ in reports["mapping"].summary}
    assert m["cores used"] == results["mapping"].report["cores_used"]
    side = reports["comparison"].sections[0]["table"]
    assert side["columns"][1:] == ["online_lru on loihi2", "rtrl on loihi2"]
    assert ["fits", "yes", "no"] in side["rows"]


def test_written_files_are_complete_self_contained_and_atomic(results, tmp_path):
    r = ns.report.build(results["chip_run"])
    paths = r.write(str(tmp_path / "out"))
    names = sorted(os.listdir(tmp_path / "out"))
    assert names == sorted(["report.json", "report.md", "report.html", *(f.file for f in r.figures)])
    assert len(r.figures) == 4  # cycles per core (bars, and over the mesh), energy, learning curve
    for f in r.figures:
        assert (tmp_path / "out" / f.file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d = json.loads((tmp_path / "out" / "report.json").read_text())
    assert not list(_validator().iter_errors(d))
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.startswith(f"# {r.title}") and all(f"]({f.file})" in md for f in r.figures)
    page = (tmp_path / "out" / "report.html").read_text()
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:)""", page)  # nothing fetched from anywhere
    assert page.count('src="data:image/png;base64,') == len(r.figures)
    assert 'name="viewport"' in page
    assert not [p for p in os.listdir(tmp_path / "out") if p.startswith(".")]  # no temporary left
    assert set(paths) == set(names)


def test_notebooks_show_results_as_their_report(results):
    for key in ("budget", "chip_run", "mapping"):
        html = results[key]._repr_html_()
        assert html.startswith('<div class="neurosim-report">') and "<h1>" in html
    with pytest.raises(TypeError, match="has no report"):
        ns.report.build(object())
    with pytest.raises(ValueError, match="no reports"):
        ns.report.compare([])


def test_non_finite_values_are_null_not_nan():
    r = ns.report.Report("budget", "t", [["x", float("nan"), ""], ["y", np.float32(2.5), "ns"]])
    d = json.loads(r.to_json())
    assert d["summary"][0]["value"] is None and d["summary"][1]["value"] == 2.5
    assert "| x | – |" in r.to_markdown()


# --- the page in a real browser -------------------------------------------------------------------
def _chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip("no Chromium here: apt-get install chromium chromium-driver (.ci/run installs them as root)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(a)
    # a phone's viewport (a headless window is at least 500 px wide)
    opts.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2}})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def _open(browser, path) -> dict:
    browser.get(path.as_uri())
    return {
        "images": browser.execute_script("return document.images.length"),
        "loaded": browser.execute_script(
            "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
        ),
        "width": browser.execute_script("return window.innerWidth"),
        "overflow": browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        ),
        "errors": [e for e in browser.get_log("browser") if e["level"] == "SEVERE"],
    }


def test_the_html_report_opens_in_headless_chromium_at_phone_width(results, tmp_path):
    browser = _chromium()
    try:
        for key, r in _reports(results).items():
            r.write(str(tmp_path / key))
            got = _open(browser, tmp_path / key / "report.html")
            assert got["images"] == len(r.figures) and got["loaded"], (key, got)
            assert got["errors"] == [], (key, got["errors"])
            assert got["width"] == 390 and got["overflow"] <= 0, (key, got)  # the page fits; wide tables scroll
            browser.save_screenshot(str(tmp_path / f"{key}.png"))
            assert (tmp_path / f"{key}.png").stat().st_size > 10_000
        # negative controls: the same checks catch a missing figure and a console error
        bad = tmp_path / "bad.html"
        bad.write_text('<!DOCTYPE html><html><head><meta name="viewport" content="width=device-width"></head><body>'
                       '<img src="missing.png" alt="x"><div style="width:900px">wide</div>'
                       '<script>console.error("boom")</script></body></html>')  # fmt: skip
        got = _open(browser, bad)
        assert not got["loaded"] and got["errors"] and got["overflow"] > 0
    finally:
        browser.quit()


def test_budget_output_writes_the_rules_side_by_side_and_refuses_bad_paths(tmp_path, capsys):
    from neurosim import cli

    out = tmp_path / "b"
    argv = ["budget", "--model", "lru", "--n-hidden", "16", "--rule", "online_lru", "--rule", "rtrl",
            "--profile", "loihi2", "--search-max", "64"]  # fmt: skip
    assert cli.main([*argv, "--output", str(out)]) == 0
    d = json.loads((out / "report.json").read_text())
    assert not list(_validator().iter_errors(d))
    assert d["kind"] == "comparison" and [r["label"] for r in d["source"]["reports"]] == ["online_lru", "rtrl"]
    rows = {r[0]: r[1:] for r in d["sections"][0]["table"]["rows"]}
    assert "largest n_hidden that fits" in rows and rows["rule"] == ["online_lru", "rtrl"]
    assert {f["file"] for f in d["figures"]} | {"report.json", "report.md", "report.html"} == {
        p.name for p in out.iterdir()}  # fmt: skip
    one = tmp_path / "one"
    assert cli.main([*argv[:5], "--rule", "eprop", "--profile", "loihi2", "--output", str(one)]) == 2  # eprop: no lru
    assert cli.main([*argv[:5], "--profile", "loihi2", "--search-max", "64", "--output", str(one)]) == 0
    assert json.loads((one / "report.json").read_text())["kind"] == "budget"
    (tmp_path / "file").write_text("x")
    assert cli.main([*argv, "--output", str(tmp_path / "file")]) == 2  # a file, not a directory
    assert cli.main([*argv, "--output", " "]) == 2
    assert "error" in capsys.readouterr().err


COMPARE_TOML = """
[model]
name = "lru"
n_hidden = 8
width = 8
n_layers = 2
[rule]
name = "online_lru"
[task]
name = "copy"
pattern_len = 3
pad = 1
[optimizer]
name = "adam"
lr = 0.003
[train]
steps = 3
batch_size = 2
"""


def test_compare_runs_rules_on_chips_side_by_side(tmp_path, capsys):
    """``neurosim compare``: 2 rules × 2 chips, 2 iterations on each chip that can run the model;
    the rate model on Loihi 1 (binary spikes) is reported as not runnable, a rule that cannot
    train the model is named, and the report's numbers are the budget's and the chip run's."""
    from neurosim import cli

    cfg = tmp_path / "c.toml"
    cfg.write_text(COMPARE_TOML)
    out = tmp_path / "cmp"
    argv = ["compare", str(cfg), "--rule", "online_lru", "--rule", "snap1", "--rule", "eprop",
            "--profile", "loihi2", "--profile", "loihi", "--steps", "2"]  # fmt: skip
    assert cli.main([*argv, "--output", str(out)]) == 0
    said = capsys.readouterr().out
    assert "eprop: rule cannot train the model" in said and "wrote" in said
    d = json.loads((out / "report.json").read_text())
    assert not list(_validator().iter_errors(d))
    cols = d["sections"][0]["table"]["columns"][1:]
    assert cols == ["online_lru on loihi2", "online_lru on loihi", "snap1 on loihi2", "snap1 on loihi"]
    rows = {r[0]: r[1:] for r in d["sections"][0]["table"]["rows"]}
    assert rows["iterations on the chip"] == ["2", "–", "2", "–"]
    assert "cannot run the model" in rows["on the chip"][1] and rows["on the chip"][0] == "–"
    first = d["source"]["reports"][0]
    model, rule, task, opt, kw = ns.config.build(ns.config.load(str(cfg)), str(cfg))
    b = ns.hardware.budget(model, ns.rules.make("online_lru"), ns.hardware.load_profile("loihi2"))
    assert first["source"]["step_ns"] == pytest.approx(b.step_ns)
    run = ns.chip.simulate(model, ns.rules.make("online_lru"), task, "loihi2", None, 2, opt, batch_size=2,
                           seed=kw.get("seed", 0), activity="off")  # fmt: skip
    got = {s["label"]: s["value"] for s in first["summary"]}
    assert got["final loss on the chip"] == pytest.approx(float(run.losses[-1]))
    # --json: the report on stdout; --quiet: nothing
    assert cli.main([*argv[:4], "--profile", "loihi2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "comparison"
    assert cli.main([*argv[:4], "--profile", "loihi2", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    # bad input: exit code 2, the option named
    for bad, what in ((["--steps", "-1"], "--steps"), (["--rule", "nosuch"], "nosuch"),
                      (["--profile", "nosuchchip"], "nosuchchip"), (["--output", " "], "--output")):  # fmt: skip
        assert cli.main(["compare", str(cfg), *bad]) == 2
        assert what in capsys.readouterr().err
    assert cli.main(["compare", str(cfg), "--rule", "eprop"]) == 2  # nothing left to compare
    assert "nothing to compare" in capsys.readouterr().err


def test_building_a_report_leaves_the_notebooks_backend_alone(results):
    """Figures are drawn outside pyplot: the backend a notebook chose (inline there; svg here,
    any non-Agg one shows it) is the backend after ``build``. Control: ``matplotlib.use`` does
    change it, which the library used to call."""
    import matplotlib

    before = matplotlib.get_backend()
    try:
        matplotlib.use("svg")
        r = ns.report.build(results["chip_run"])
        assert len(r.figures) == 4 and matplotlib.get_backend() == "svg"
        matplotlib.use("Agg")
        assert matplotlib.get_backend().lower() == "agg"  # control
    finally:
        matplotlib.use(before)
