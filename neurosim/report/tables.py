"""The README's reference tables, computed from the code: every rule's learning-state memory and
per-step compute (``Rule.memory_floats``, ``Rule.state_spec``, ``Rule.op_counts``) and what it is
exact for (``Rule.exact_cell``), and every bundled chip profile's structure, memory and how many of
its numbers are estimates (``Profile.provenance``).

``python -m neurosim.report.tables`` prints both as Markdown; ``--write README.md`` replaces the
text between the ``<!-- tables:rules -->`` … ``<!-- /tables:rules -->`` (and ``profiles``) markers
in place, so the README says what the code does (``tests/test_readme.py`` checks they agree).
The same goes for the reproductions' tables: between ``<!-- sweep:NAME -->`` and ``<!-- /sweep:NAME
-->`` the table of ``results/sweeps/NAME/summary.json`` (``sweep.summary.metric_table``: its
metric, mean ± std over the seeds), so the README's numbers are the committed results'.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

# the rules in the order the README lists them, with the options each row is made with
RULE_ROWS = (
    ("bptt", {}),
    ("tbptt", {"k": 10}),
    ("rtrl", {}),
    ("snap1", {}),
    ("snap2", {}),
    ("uoro", {}),
    ("rflo", {}),
    ("online_lru", {}),
    ("eprop", {}),
    ("trunc1", {}),
    ("spatial", {}),
)
MODEL_KINDS = ("rnn", "gru", "lru", "lif", "alif")
AT = 64  # n_hidden of the model each rule is priced on
GROWTH = (256, 512)  # the sizes whose ratio gives the growth (large enough that the leading term shows)
N_IN, N_OUT = 4, 2


def _model(kind: str, n: int):
    from ..models import make

    extra = {"n_alif": n // 2} if kind == "alif" else {}
    return make(kind, n_in=N_IN, n_out=N_OUT, n_hidden=n, **extra)


def _growth(a: float, b: float) -> str:
    """'n', 'n²', 'n³' … from the values at n and 2n (their log2 ratio, rounded), '–' for 0."""
    if a <= 0 or b <= 0:
        return "–"
    k = round(math.log2(b / a), 1)
    powers = {0: "1", 1: "n", 2: "n²", 3: "n³", 4: "n⁴"}
    return powers.get(k, f"n^{k:g}") if float(k).is_integer() else f"n^{k:g}"


def rule_rows() -> list[list[str]]:
    """One row per rule: models it trains, learning-state floats per sample and trace/error MACs
    per step on the first model it trains (one layer, 4 inputs, 2 outputs, n_hidden ``AT``), how
    both grow with n (their ratio from n = 256 to 512, as a power of n), and the models on which
    its top cell's gradient is exact (``exact_cell``; the readout is exact for every rule)."""
    from ..rules import make

    rows = []
    for name, opts in RULE_ROWS:
        rule = make(name, **opts)
        kinds = []
        for kind in MODEL_KINDS:
            try:
                rule.check_model(_model(kind, AT))
                kinds.append(kind)
            except ValueError:
                pass
        ref = kinds[0]
        m, g1, g2 = (_model(ref, n) for n in (AT, *GROWTH))
        history = any(s.name == "history_per_step" for s in rule.state_spec(m))
        mem, macs = rule.memory_floats(m), _learning_macs(rule, m)
        exact = [k for k in kinds if rule.exact_cell(_model(k, AT))]
        mem_text = f"{mem:,}" + (" per step × T" if history else "")
        label = name + ("(" + ", ".join(f"{k}={v}" for k, v in opts.items()) + ")" if opts else "")
        rows.append(
            [
                f"`{label}`",
                ", ".join(kinds),
                ref,
                mem_text,
                _growth(rule.memory_floats(g1), rule.memory_floats(g2)),
                f"{macs:,.0f}",
                _growth(_learning_macs(rule, g1), _learning_macs(rule, g2)),
                "every parameter (the reference)" if name == "bptt" else ", ".join(exact) or "none",
            ]
        )
    return rows


RULE_COLUMNS = ["rule", "trains", "priced on", "learning state (floats/sample, n=64)", "grows as",
                "learning MACs/step (n=64)", "grows as", "top cell exact on"]  # fmt: skip


def _learning_macs(rule, model) -> float:
    return float(sum(sum(ph.get("mac", 0) for ph in layer.values()) for layer in rule.op_counts(model)))


PROFILE_COLUMNS = ["profile", "kind", "process", "cores", "neurons/core", "SRAM/core", "weights", "synop energy",
                   "routing", "numbers estimated"]  # fmt: skip


def profile_rows() -> list[list[str]]:
    """One row per bundled profile (``hardware.list_profiles``)."""
    from ..hardware import list_profiles, load_profile

    return [profile_row(load_profile(name)) for name in list_profiles()]


def profile_row(p) -> list[str]:
    """A profile's row of the chips table (``PROFILE_COLUMNS``)."""
    regions = " + ".join(f"{s.capacity_bits / 8192:g}" for s in p.srams)
    routing = "multicast" if p.noc.multicast else "unicast"
    if p.noc.routing_table_entries:
        routing += f", {p.noc.routing_table_entries:,}-entry tables"
    cores = f"{p.n_cores:,}" + ("" if p.board is None else f" × {p.n_chips} chips")
    est = sum(1 for s in p.provenance.values() if s.confidence == "estimate")
    return [f"`{p.name}`", p.kind, f"{p.chip.process_nm:g} nm", cores, f"{p.core.max_neurons:,}",
                 f"{regions} KiB", f"{p.formats.weight_bits}-bit", f"{p.ops.synop_energy_pj:g} pJ", routing,
                 f"{est} of {len(p.provenance)}"]  # fmt: skip


def markdown(columns: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out) + "\n"


def tables() -> dict[str, str]:
    """{"rules": Markdown, "profiles": Markdown}: the README's two generated tables."""
    return {"rules": markdown(RULE_COLUMNS, rule_rows()), "profiles": markdown(PROFILE_COLUMNS, profile_rows())}


def marked(text: str, name: str) -> tuple[int, int]:
    """The span of ``text`` between ``<!-- tables:NAME -->`` and ``<!-- /tables:NAME -->``."""
    start, end = f"<!-- tables:{name} -->\n", f"<!-- /tables:{name} -->"
    i = text.find(start)
    j = text.find(end, i + 1)
    if i < 0 or j < 0:
        raise ValueError(f"no {start.strip()} … {end} markers: allowed a Markdown file that has both")
    return i + len(start), j


SWEEP_MARK = re.compile(r"<!-- sweep:([A-Za-z0-9_.-]+)(?::([A-Za-z0-9_]+))? -->\n")


def sweep_table(summary: dict, metric: str | None = None, digits: int = 3) -> str:
    """The Markdown table of a sweep's summary: ``metric`` (default the spec's), mean ± std over
    the seeds (large numbers without decimals)."""
    from ..sweep.summary import metric_table

    metric = metric or summary["metric"]
    big = any(abs(g["metrics"].get(metric, {}).get("mean", 0.0)) >= 1000 for g in summary["groups"])
    header, body = metric_table(summary, metric, digits=0 if big else digits)
    return markdown(header, body)


def replace(text: str, root: str | Path | None = None) -> str:
    """``text`` with its generated tables current: the rules and chips tables, and each
    ``sweep:NAME`` block from ``root/NAME/summary.json`` (``root``: results/sweeps of the
    repository)."""
    for name, table in tables().items():
        i, j = marked(text, name)
        text = text[:i] + table + text[j:]
    root = Path(root) if root is not None else Path(__file__).parents[2] / "results" / "sweeps"
    for name, metric in SWEEP_MARK.findall(text):
        tag = name + (f":{metric}" if metric else "")
        start, end = f"<!-- sweep:{tag} -->\n", f"<!-- /sweep:{tag} -->"
        i = text.index(start) + len(start)
        j = text.index(end, i)
        summary = json.loads((root / name / "summary.json").read_text())
        text = text[:i] + sweep_table(summary, metric or None) + text[j:]
    return text


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--write"] and len(argv) == 2:
        path = Path(argv[1])
        path.write_text(replace(path.read_text()))
        print(f"wrote the rules and profiles tables into {path}")
        return 0
    if argv:
        print("usage: python -m neurosim.report.tables [--write FILE.md]", file=sys.stderr)
        return 2
    for name, table in tables().items():
        print(f"## {name}\n\n{table}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
