"""The README's Python block runs as written: a newcomer's first three lines must work."""

from __future__ import annotations

import re

from tests.conftest import REPO


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_readme_python_snippet_runs(capsys) -> None:
    blocks = python_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    assert blocks, "the README shows no Python"
    for code in blocks:
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)  # our own README, as written
    printed = capsys.readouterr().out.split()
    assert printed[1:] == ["False", "True"]  # two people told apart; one photo matches itself
    assert float(printed[0]) < namespace["engine"].threshold("sface", 1e-4)
