"""Every ```python block of the user guides in docs/ runs as written.

The blocks of one page run in order, in one namespace, in a fresh interpreter (one subprocess per
page, started in a temporary directory, so files a block writes land there). A failing block
fails the test with the page, the block's number and its first line. A block marked
```python no-run is only compiled. A page whose blocks need an optional package
(Brian2, NIR, jsonschema) that is not installed is skipped, saying which.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"^```(\S*)(.*)$")
OPTIONAL = ("brian2", "nir", "jsonschema")  # optional packages a page may use (neurosim[brian2], [mapping], [test])
TIMEOUT_S = 300

# Runs in the subprocess: argv[1] a JSON list of [number, first line, code]; prints one JSON line.
DRIVER = r"""
import json, sys, traceback
blocks = json.loads(sys.argv[1])
optional = set(json.loads(sys.argv[2]))
namespace = {"__name__": "__main__"}
for number, first, code in blocks:
    try:
        exec(compile(code, f"<block {number}>", "exec"), namespace)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] in optional:
            print(json.dumps({"skip": e.name, "block": number}))
            sys.exit(0)
        print(json.dumps({"block": number, "first": first, "error": traceback.format_exc()}))
        sys.exit(0)
    except BaseException:
        print(json.dumps({"block": number, "first": first, "error": traceback.format_exc()}))
        sys.exit(0)
print(json.dumps({"ok": len(blocks)}))
"""


def blocks(text: str) -> list[tuple[int, str, str, int]]:
    """The fenced code blocks of a Markdown text: (number from 1, info string, code, line)."""
    out, info, start, lines = [], None, 0, []
    for i, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line.strip()) if line.lstrip().startswith("```") else None
        if info is None and m:
            info, start, lines = (m.group(1) + m.group(2)).strip(), i, []
        elif info is not None and line.strip() == "```":
            out.append((len(out) + 1, info, "\n".join(lines) + "\n", start))
            info = None
        elif info is not None:
            lines.append(line)
    if info is not None:
        raise AssertionError(f"a code block opened at line {start} is never closed")
    return out


def python_blocks(page: Path) -> tuple[list, list]:
    """(blocks to run, blocks only to compile) of ``page``, numbered among its python blocks."""
    run, no_run = [], []
    for _, info, code, line in blocks(page.read_text()):
        words = info.split()
        if not words or words[0] != "python":
            continue
        if words[1:] not in ([], ["no-run"]):
            raise AssertionError(f"{page.name}, line {line}: unknown code block options {words[1:]}; allowed: no-run")
        number = len(run) + len(no_run) + 1
        first = next((s for s in code.splitlines() if s.strip()), "")
        (no_run if words[1:] else run).append((number, first, code, line))
    return run, no_run


def test_the_guides_exist_and_each_has_python_to_run():
    names = {p.name for p in PAGES}
    for name in ("rules.md", "kernels.md", "chip.md", "mapping.md", "spiking.md", "reports.md", "sweeps.md"):
        assert name in names, f"docs/{name} is missing"
        assert python_blocks(DOCS / name)[0], f"docs/{name} has no ```python block to run"


def test_block_parsing_sees_fences_options_and_unclosed_blocks():
    text = "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python no-run\ny = 2\n```\n"
    assert [(n, i) for n, i, _, _ in blocks(text)] == [(1, "python"), (2, "bash"), (3, "python no-run")]
    with pytest.raises(AssertionError, match="never closed"):
        blocks("```python\nx = 1\n")


@pytest.mark.parametrize("page", [p for p in PAGES if python_blocks(p) != ([], [])], ids=lambda p: p.name)
def test_python_blocks_run_as_written(page, tmp_path):
    run, no_run = python_blocks(page)
    for number, _, code, line in no_run:
        try:
            compile(code, f"{page.name} block {number}", "exec")
        except SyntaxError as e:
            pytest.fail(f"docs/{page.name}, python block {number} (line {line}, no-run) does not compile: {e}")
    if not run:
        return
    path = os.pathsep.join(filter(None, [str(DOCS.parent), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": path}
    payload = json.dumps([[n, first, code] for n, first, code, _ in run])
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, payload, json.dumps(OPTIONAL)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    lines = [s for s in proc.stdout.splitlines() if s.startswith("{")]
    if proc.returncode != 0 or not lines:
        pytest.fail(f"docs/{page.name}: the interpreter exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(lines[-1])
    if "skip" in result:
        pytest.skip(f"docs/{page.name}, python block {result['block']}: needs {result['skip']}, not installed")
    if "error" in result:
        line = next(ln for n, _, _, ln in run if n == result["block"])
        pytest.fail(
            f"docs/{page.name}, python block {result['block']} (line {line}: {result['first']!r}) failed:\n"
            f"{result['error']}"
        )
    assert result == {"ok": len(run)}
