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


# The stages, lowest first: a package imports only from its own stage and those before it (docs/architecture.md).
STAGES = ["core", "write", "read", "record", "schools", "ledger", "intake", "report", "deliver", "jobs", "demo",
          "web", "flows", "cli", "__main__"]


def package_imports() -> set[tuple[str, str, str]]:
    """(importing stage, imported stage, file) for every import between the package's stages."""
    import ast
    from pathlib import Path

    import inspect_pipeline

    root = Path(inspect_pipeline.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        rel = path.relative_to(root).parts
        if "migrations" in rel:
            continue
        stage = rel[0] if len(rel) > 1 else path.stem
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = list(rel[:-1])[: len(rel) - node.level]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "inspect_pipeline":
                target = node.module.split(".")[1:]
            else:
                continue
            if target and target[0] != stage:
                found.add((stage, target[0], "/".join(rel)))
    return found


def test_stages_import_only_from_the_stages_before_them():
    imports = package_imports()
    assert {s for s, _, _ in imports} <= set(STAGES)
    upward = sorted((f, s, t) for s, t, f in imports if STAGES.index(t) > STAGES.index(s))
    assert upward == [], upward
    assert ("intake", "ledger") in {(s, t) for s, t, _ in imports}  # the check sees real imports
