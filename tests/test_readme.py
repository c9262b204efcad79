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
