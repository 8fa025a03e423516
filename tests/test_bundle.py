"""The offline bundle (jobs/bundle.py) without a network: the pip commands for each target, the source-build
fallback and the marker-aware closure with a fake pip, and the install files a bureau's IT person runs."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from importlib import resources
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from inspect_pipeline.jobs import bundle
from inspect_pipeline.jobs.bundle import (
    BundleError,
    build_bundle,
    closure,
    download,
    download_commands,
    install_files,
    platform_tags,
)


def make_wheel(folder: Path, name: str, version: str, tag: str = "py3-none-any", requires: tuple = ()) -> Path:
    path = folder / f"{name}-{version}-{tag}.whl"
    meta = "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{name}-{version}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\n"
                                                              f"Version: {version}\n{meta}")
        zf.writestr(f"{name}-{version}.dist-info/WHEEL", f"Wheel-Version: 1.0\nTag: {tag}\n")
    return path


def arg(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


def args(cmd: list[str], flag: str) -> list[str]:
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == flag]


def done(cmd, rc=0, stderr=""):
    return subprocess.CompletedProcess(cmd, rc, "", stderr)


# ---------------------------------------------------------------- commands


def test_one_pip_download_per_platform_and_python(tmp_path):
    commands = download_commands("/b/inspect_pipeline-0.1.0-py3-none-any.whl[postgres]", tmp_path)
    assert [(p, v) for p, v, _ in commands] == [(p, v) for p in ("win_amd64", "manylinux_2_28_x86_64")
                                                for v in ("3.11", "3.12", "3.13")]
    for platform, python, cmd in commands:
        assert cmd[:4] == [sys.executable, "-m", "pip", "download"] and all(isinstance(a, str) for a in cmd)
        assert "--only-binary=:all:" in cmd and arg(cmd, "--implementation") == "cp"
        assert arg(cmd, "--python-version") == python and arg(cmd, "--abi") == "cp" + python.replace(".", "")
        assert arg(cmd, "--dest") == arg(cmd, "--find-links") == str(tmp_path)
        assert cmd[-1] == "/b/inspect_pipeline-0.1.0-py3-none-any.whl[postgres]"
        assert not any(a.endswith(("[test]", ",test]")) for a in cmd)  # the test extra is never bundled
        plats = args(cmd, "--platform")
        if platform == "win_amd64":
            assert plats == ["win_amd64"]
        else:  # pip takes a manylinux tag literally: every older one is listed
            assert plats[0] == "manylinux_2_28_x86_64" and "manylinux_2_29_x86_64" not in plats
            assert {"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(plats)
    (_, _, extra), = download_commands("w.whl", tmp_path, pythons=["3.12"], platforms=["win_amd64"],
                                       also=["pywin32>=304"])
    assert extra[-2:] == ["w.whl", "pywin32>=304"]


def test_platform_tags():
    assert platform_tags("win_amd64") == ["win_amd64"]
    assert platform_tags("manylinux_2_17_x86_64")[-3:] == ["manylinux2014_x86_64", "manylinux2010_x86_64",
                                                           "manylinux1_x86_64"]
    assert len(platform_tags("manylinux_2_28_x86_64")) == 24 + 3


# ---------------------------------------------------------------- a dependency published only as source


NOT_FOUND = ("ERROR: Could not find a version that satisfies the requirement oldlib>=1.0 (from versions: none)\n"
             "ERROR: No matching distribution found for oldlib>=1.0\n")


def fake_pip(tmp_path, built_tag="py3-none-any"):
    calls = []

    def run(cmd):
        calls.append(cmd)
        if cmd[3] == "wheel":
            make_wheel(Path(arg(cmd, "--wheel-dir")), "oldlib", "1.0", built_tag)
            return done(cmd)
        ok = (tmp_path / "oldlib-1.0-py3-none-any.whl").exists()
        return done(cmd, 0 if ok else 1, "" if ok else NOT_FOUND)
    return run, calls


def test_a_source_only_dependency_is_built_into_a_pure_wheel_and_the_download_rerun(tmp_path):
    run, calls = fake_pip(tmp_path)
    built: list[str] = []
    assert download(["pip", "-m", "x", "download"], tmp_path, run, built=built) is None
    assert [c[3] for c in calls] == ["download", "wheel", "download"]
    assert calls[1][-1] == "oldlib>=1.0" and {"--no-deps", "--no-binary"} <= set(calls[1])
    assert arg(calls[1], "--no-binary") == "oldlib"
    assert built == ["oldlib-1.0-py3-none-any.whl"] and (tmp_path / built[0]).exists()


def test_a_source_build_that_is_not_pure_python_fails_and_leaves_nothing(tmp_path):
    run, calls = fake_pip(tmp_path, built_tag="cp311-cp311-linux_x86_64")
    failure = download(["pip", "-m", "x", "download"], tmp_path, run)
    assert "oldlib>=1.0" in failure and "not pure Python" in failure
    assert len(calls) == 2 and list(tmp_path.iterdir()) == []


def test_other_failures_are_reported_not_retried(tmp_path):
    calls = []

    def run(cmd):
        calls.append(cmd)
        return done(cmd, 1, "ERROR: HTTP error 503 while getting https://example/x.whl")
    assert "503" in download(["pip", "-m", "x", "download"], tmp_path, run) and len(calls) == 1


def test_a_requirement_still_not_found_after_its_build_stops(tmp_path):
    def run(cmd):
        if cmd[3] == "wheel":
            make_wheel(Path(arg(cmd, "--wheel-dir")), "oldlib", "1.0")
            return done(cmd)
        return done(cmd, 1, NOT_FOUND)  # e.g. its wheel needs a newer Python than the target
    assert "does not fit" in download(["pip", "-m", "x", "download"], tmp_path, run)


# ---------------------------------------------------------------- what a target installs


def test_the_closure_evaluates_markers_and_tags_for_the_target(tmp_path):
    make_wheel(tmp_path, "app", "1.0", requires=("click", "pg[binary]; extra == 'postgres'",
                                                  "pytest; extra == 'test'"))
    make_wheel(tmp_path, "click", "8.0", requires=('colorama; platform_system == "Windows"',))
    make_wheel(tmp_path, "pg", "3.0", requires=('pg-binary; extra == "binary"',
                                                'async-timeout; python_full_version < "3.11.3"'))
    make_wheel(tmp_path, "pg_binary", "3.0", "cp311-cp311-win_amd64")
    make_wheel(tmp_path, "pg_binary", "3.0", "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64")

    def names(platform, python, root="app[postgres]==1.0"):
        taken, missing = closure(tmp_path, Requirement(root), platform, python)
        return sorted(p.name.split("-")[0] for p in taken), sorted(str(r) for r in missing)

    assert names("win_amd64", "3.11") == (["app", "click", "pg", "pg_binary"],
                                          ['async-timeout; python_full_version < "3.11.3"',
                                           'colorama; platform_system == "Windows"'])
    assert names("manylinux_2_28_x86_64", "3.12") == (["app", "click", "pg", "pg_binary"], [])
    assert names("manylinux_2_28_x86_64", "3.13")[1] == ['pg-binary; extra == "binary"']  # no cp313 wheel
    assert names("manylinux_2_28_x86_64", "3.12", "app==1.0") == (["app", "click"], [])


# ---------------------------------------------------------------- the files the IT person runs


def test_the_install_files():
    files = install_files("0.1.0", "inspect-pipeline[postgres]==0.1.0", ("3.11", "3.12", "3.13"),
                          ("win_amd64", "manylinux_2_28_x86_64"))
    assert set(files) == {"install.bat", "install.sh", "安装说明.txt"}
    bat = files["install.bat"]
    assert bat.count(b"\r\n") == bat.count(b"\n") > 20  # CRLF throughout
    bat_text = bat.decode("gbk")  # cmd.exe on Chinese Windows: code page 936
    sh = files["install.sh"].decode("utf-8")
    assert sh.startswith("#!/bin/sh\n") and "\r" not in sh
    for script in (bat_text, sh):
        assert "--no-index" in script and "--find-links" in script and "wheels" in script
        assert '"inspect-pipeline[postgres]==0.1.0"' in script and "demo --data-root 演示" in script
        assert "@" not in script.replace("@echo off", "")  # every placeholder filled
    assert "py -%%V-64" in bat_text and "3.13 3.12 3.11" in bat_text
    guide = files["安装说明.txt"]
    assert guide.startswith(b"\xef\xbb\xbf") and guide.count(b"\r\n") == guide.count(b"\n")
    text = guide.decode("utf-8-sig")
    assert "3.11" in text and "3.13" in text and "python.org" in text and "64 位" in text
    assert "Add python.exe to PATH" in text and "demo --data-root 演示" in text and "glibc 2.28" in text
    assert "install.bat" in text and "install.sh" in text and "@" not in text
    only_windows = install_files("0.1.0", "inspect-pipeline==0.1.0", ("3.12",), ("win_amd64",))
    assert set(only_windows) == {"install.bat", "安装说明.txt"}


def test_the_templates_are_package_data():
    folder = resources.files("inspect_pipeline.jobs") / "bundle_files"
    assert {p.name for p in folder.iterdir()} >= {"install.bat", "install.sh", "install-guide.zh.txt"}


# ---------------------------------------------------------------- the whole bundle, with a fake pip


def fake_index_pip(tmp_path):
    """pip as it behaves on Linux/3.11: `download` saves what the target's tags allow, but evaluates markers for
    this machine (no colorama for Windows) until it is asked for it by name."""
    requested = []

    def run(cmd):
        if cmd[3] == "wheel":
            make_wheel(Path(arg(cmd, "--wheel-dir")), "inspect_pipeline", "0.1.0",
                       requires=("click", "pg[binary]; extra == 'postgres'", "pytest; extra == 'test'"))
            return done(cmd)
        dest, python = Path(arg(cmd, "--dest")), arg(cmd, "--python-version").replace(".", "")
        plat = args(cmd, "--platform")[0]
        requested.append((plat, python, cmd[cmd.index("--progress-bar") + 2:]))
        make_wheel(dest, "click", "8.0", requires=('colorama; platform_system == "Windows"',))
        make_wheel(dest, "pg", "3.0", requires=('pg-binary; extra == "binary"',))
        make_wheel(dest, "pg_binary", "3.0", f"cp{python}-cp{python}-{plat}")
        if any(a.startswith("colorama") for a in cmd):
            make_wheel(dest, "colorama", "0.4")
        return done(cmd)
    return run, requested


def test_build_bundle(tmp_path):
    run, requested = fake_index_pip(tmp_path)
    out = tmp_path / "bundle"
    lines: list[str] = []
    summary = build_bundle(out, pythons=("3.11", "3.12"), project=tmp_path, run=run, progress=lines.append)
    assert summary["failed"] == [] and summary["built_from_source"] == []
    # one download per target, then one more for the first Windows target, asking for colorama by name (the second
    # finds it there)
    assert len(requested) == 4 + 1
    assert all(r[2][0].endswith("inspect_pipeline-0.1.0-py3-none-any.whl[postgres]") for r in requested)
    assert requested[4][:2] == ("win_amd64", "311") and requested[4][2][1:] == ["colorama"]
    assert any("also needs colorama" in line for line in lines)
    win, linux = summary["per_platform"]["win_amd64"], summary["per_platform"]["manylinux_2_28_x86_64"]
    assert "colorama-0.4-py3-none-any.whl" in win["wheels"] and "colorama-0.4-py3-none-any.whl" not in linux["wheels"]
    assert (win["files"], linux["files"], summary["files"]) == (6, 5, 8)  # app, click, pg, 2 binaries (+colorama)
    assert summary["bytes"] == sum(p.stat().st_size for p in (out / "wheels").iterdir())
    assert {p.name for p in out.iterdir()} == {"wheels", "install.bat", "install.sh", "安装说明.txt", "bundle.json"}
    assert json.loads((out / "bundle.json").read_text(encoding="utf-8"))["requirement"] == \
        "inspect-pipeline[postgres]==0.1.0"
    names = zipfile.ZipFile(summary["zip"]).namelist()
    assert "bundle/install.bat" in names and "bundle/安装说明.txt" in names and len(names) == 8 + 4
    # a previous bundle is replaced; any other folder is refused
    assert build_bundle(out, pythons=("3.12",), platforms=("win_amd64",), project=tmp_path, run=run,
                        make_zip=False)["failed"] == []
    assert not (out / "install.sh").exists()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("x")
    with pytest.raises(BundleError):
        build_bundle(tmp_path / "mine", project=tmp_path, run=run)


def test_a_target_that_cannot_resolve_is_reported(tmp_path):
    run, _ = fake_index_pip(tmp_path)

    def no_313(cmd):
        if cmd[3] == "download" and arg(cmd, "--python-version") == "3.13":
            return done(cmd, 1, "ERROR: Package 'numpy' requires a different Python")
        return run(cmd)
    summary = build_bundle(tmp_path / "b", pythons=("3.12", "3.13"), platforms=("manylinux_2_28_x86_64",),
                           project=tmp_path, run=no_313, make_zip=False)
    assert summary["failed"] == [("manylinux_2_28_x86_64 CPython 3.13: ERROR: Package 'numpy' requires a "
                                  "different Python")]


def test_the_project_is_the_checkout_this_package_runs_from():
    root = bundle.project_root()
    assert (root / "pyproject.toml").is_file() and (root / "src" / "inspect_pipeline" / "jobs" / "bundle.py").is_file()
