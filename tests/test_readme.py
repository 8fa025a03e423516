"""The README's test command is one line that installs and tests a fresh clone, and CI runs exactly that line."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Test\n"):]
    command = re.search(r"```bash\n(.+?)\n```", section, re.S)[1]
    assert "\n" not in command and "pip install" in command and "pytest" in command
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
