"""The library never imports Prefect (nor its flows, `inspect_pipeline.flows`): one-off commands start in a second
without it. Only the package is installed: the repo's other folders are not importable from the venv."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import pkgutil, importlib, sys
import inspect_pipeline
for module in pkgutil.walk_packages(inspect_pipeline.__path__, "inspect_pipeline."):
    if module.name.startswith(("inspect_pipeline.record.migrations", "inspect_pipeline.__main__", "inspect_pipeline.flows")):
        continue
    importlib.import_module(module.name)
# the walk imports the flows package itself (its __init__ sets environment defaults only), never its modules
loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith(("prefect.", "inspect_pipeline.flows.")))
print(len(list(pkgutil.walk_packages(inspect_pipeline.__path__, "inspect_pipeline."))), loaded)
"""


def test_no_module_of_the_library_imports_prefect_or_the_flows():
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, encoding="utf-8", check=True)
    count, loaded = out.stdout.strip().split(" ", 1)
    assert int(count) > 30 and loaded == "[]", out.stdout


def test_only_the_package_is_importable_from_the_venv(tmp_path):
    """The wheel's top level is `inspect_pipeline` alone: the flows live in its namespace, and the repo's own
    folders (flows, tests, bench, schemas) are not on the venv's path."""
    check = ("import importlib.util; print([n for n in ('inspect_pipeline', 'inspect_pipeline.flows', 'flows', "
             "'tests', 'bench', 'schemas', 'support') if importlib.util.find_spec(n) is not None])")
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, encoding="utf-8",
                         check=True, cwd=tmp_path)
    assert out.stdout.strip() == "['inspect_pipeline', 'inspect_pipeline.flows']", out.stdout
