"""The wheel holds one top-level package, `inspect_pipeline`, with its contracts as read-only package data read
through importlib.resources, and its flows in its own namespace (built offline with the test extra's hatchling)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(out), str(REPO)], check=True, capture_output=True, text=True)
    (built,) = out.glob("inspect_pipeline-*.whl")
    return built


def test_the_wheel_holds_the_package_alone_with_its_contracts_and_flows(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"inspect_pipeline"}
    assert {f"inspect_pipeline/_contracts/{n}.toml" for n in ("submission", "roster", "enums", "issues",
                                                              "reports")} <= set(names)
    assert "inspect_pipeline/flows/intake.py" in names and "inspect_pipeline/jobs/context.py" in names
    assert {f"inspect_pipeline/jobs/bundle_files/{n}" for n in ("install.bat", "install.sh",
                                                                "install-guide.zh.txt")} <= set(names)
    # the web page's templates and stylesheet are package data (no CDN: everything the page needs ships here)
    assert {f"inspect_pipeline/web/{n}" for n in ("templates/base.html", "templates/week.html",
                                                  "static/style.css", "static/app.js")} <= set(names)
    contracts = [n.removeprefix("inspect_pipeline/_contracts/") for n in names if "/_contracts/" in n]
    assert sorted(contracts) == sorted(p.name for p in (REPO / "schemas").iterdir() if p.is_file())  # one copy


def test_the_installed_package_reads_its_own_contracts_and_nothing_of_the_repo(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                    str(target), str(wheel)], check=True, capture_output=True, text=True)
    check = ("import importlib.util, inspect_pipeline\n"
             "from inspect_pipeline.core import contracts\n"
             "print(inspect_pipeline.__file__.startswith(%r), str(contracts.contracts_dir()).startswith(%r),\n"
             "      contracts.statuses('closed'), importlib.util.find_spec('flows') is None)") % (str(target),
                                                                                                   str(target))
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONNOUSERSITE": "1"}
    # -S: not the venv's site-packages (where the editable install points at the checkout)
    out = subprocess.run([sys.executable, "-S", "-c", check], capture_output=True, text=True, encoding="utf-8",
                         env=env, cwd=tmp_path)
    assert out.stdout.split() == ["True", "True", "('已销号',)", "True"], out.stdout + out.stderr
