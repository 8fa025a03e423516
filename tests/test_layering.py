"""The library never imports Prefect (or the flows): one-off commands start in a second without it."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import pkgutil, importlib, sys
import inspect_pipeline
for module in pkgutil.walk_packages(inspect_pipeline.__path__, "inspect_pipeline."):
    if module.name.startswith(("inspect_pipeline.migrations", "inspect_pipeline.__main__")):
        continue
    importlib.import_module(module.name)
loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith(("prefect.", "flows")))
print(len(list(pkgutil.walk_packages(inspect_pipeline.__path__))), loaded)
"""


def test_no_module_of_the_library_imports_prefect_or_the_flows():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, encoding="utf-8", check=True)
    count, loaded = out.stdout.strip().split(" ", 1)
    assert int(count) > 30 and loaded == "[]", out.stdout
