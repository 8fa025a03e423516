"""`bundle OUT`: an offline installation bundle, built on a machine with internet for one without (内网).

OUT gets `wheels/` (the project's wheel and every dependency's wheels for each platform × CPython version),
`install.bat` (Windows), `install.sh` (Linux), `安装说明.txt` and `bundle.json` (this summary); `OUT.zip` holds the
same folder. Every pip call is `sys.executable -m pip` with a list of arguments and a timeout, and uses the
machine's own pip configuration (a mirror, a proxy).

Two things pip does not do for a foreign target, done here:
- `--platform manylinux_2_28_x86_64` matches only that tag, so a Linux target lists every older manylinux tag too;
- `pip download` evaluates environment markers for the machine it runs on, so on Linux it skips
  `colorama; platform_system == "Windows"` and on 3.11.7 it skips `async-timeout; python_full_version < "3.11.3"`.
  After the downloads, `closure` walks the wheels' metadata with the target's markers and what is missing is
  downloaded too.
A dependency published only as source is built here (`pip wheel --no-deps`) and kept if its wheel is pure Python.
"""

from __future__ import annotations

import email.parser
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from ..core.publish import staged_dir, staged_file

PYTHONS = ("3.11", "3.12", "3.13")
PLATFORMS = ("win_amd64", "manylinux_2_28_x86_64")  # glibc 2.28: pandas 3 and numpy 2.3+ have no manylinux2014
EXTRAS = ("postgres",)  # runtime extras installed with the package; `test` is never bundled
TIMEOUT = 1800  # seconds for one pip call (a slow mirror, hundreds of MB)
MAX_SOURCE_BUILDS = 10  # per download command

Runner = Callable[[list[str]], subprocess.CompletedProcess]
PIP = [sys.executable, "-m", "pip"]
NOT_FOUND = re.compile(r"No matching distribution found for (.+?)\s*$", re.MULTILINE)


class BundleError(Exception):
    pass


def run_pip(args: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"timed out after {TIMEOUT} s: {' '.join(args)}")


# ---------------------------------------------------------------- targets


def platform_tags(platform: str) -> list[str]:
    """The pip platform tags a target accepts: `manylinux_2_28_x86_64` → every manylinux tag of glibc 2.28 and
    older (with the legacy aliases manylinux2014/2010/1); any other tag as is."""
    m = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if not m:
        return [platform]
    glibc, arch = int(m.group(1)), m.group(2)
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc, 4, -1)]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    return tags + [f"{name}_{arch}" for minor, name in legacy.items() if minor <= glibc]


def is_windows(platform: str) -> bool:
    return platform.startswith("win")


def marker_environments(platform: str, python: str) -> list[dict[str, str]]:
    """Marker variables of the target (Windows or Linux, x86-64), at its first and a late patch release (a marker
    may name one: `python_full_version < "3.11.3"`)."""
    system = ("win32", "Windows", "nt", "AMD64") if is_windows(platform) else ("linux", "Linux", "posix", "x86_64")
    return [dict(zip(("sys_platform", "platform_system", "os_name", "platform_machine"), system, strict=True),
                 python_version=python, python_full_version=full, implementation_version=full,
                 implementation_name="cpython", platform_python_implementation="CPython",
                 platform_release="", platform_version="")
            for full in (f"{python}.0", f"{python}.99")]


def supported_tags(platform: str, python: str) -> set[Tag]:
    version = tuple(int(p) for p in python.split("."))
    cp = "cp" + python.replace(".", "")
    plats = platform_tags(platform)
    return {*cpython_tags(version, [cp], plats), *compatible_tags(version, cp, plats)}


def download_commands(root: str, dest: Path, *, pythons: Sequence[str] = PYTHONS,
                      platforms: Sequence[str] = PLATFORMS,
                      also: Iterable[str] = ()) -> list[tuple[str, str, list[str]]]:
    """(platform, python, pip download command) for each target; `root` is the project wheel's path with its
    extras (`…/inspect_pipeline-0.1.0-py3-none-any.whl[postgres]`), `also` more requirements to resolve with it.
    `--find-links dest`: wheels built here from source are found there."""
    also = list(also)
    commands = []
    for platform in platforms:
        for python in pythons:
            cmd = [*PIP, "download", "--only-binary=:all:", "--implementation", "cp", "--python-version", python,
                   "--abi", "cp" + python.replace(".", "")]
            for tag in platform_tags(platform):
                cmd += ["--platform", tag]
            cmd += ["--find-links", str(dest), "--dest", str(dest), "--progress-bar", "off", root, *also]
            commands.append((platform, python, cmd))
    return commands


# ---------------------------------------------------------------- downloading, with sources built here


def download(cmd: list[str], dest: Path, run: Runner = run_pip, progress: Callable[[str], None] = lambda _: None,
             built: list[str] | None = None) -> str | None:
    """Run one `pip download`; a requirement found only as source is built into a pure wheel in `dest` (its name
    appended to `built`) and the command run again. None when it succeeds, else why it failed."""
    tried: set[str] = set()
    while True:
        result = run(cmd)
        if result.returncode == 0:
            return None
        output = result.stdout + "\n" + result.stderr
        found = NOT_FOUND.search(output)
        if not found or len(tried) >= MAX_SOURCE_BUILDS:
            return _tail(output)
        spec = found.group(1).split(";")[0].strip()
        name = canonicalize_name(Requirement(spec).name)
        if name in tried:
            return f"{spec}: no wheel for this target, and the one built from source does not fit it"
        tried.add(name)
        progress(f"  {spec}: no wheel on the index, building it from source")
        wheel_or_failure = build_from_source(spec, dest, run)
        if not wheel_or_failure.endswith(".whl"):
            return wheel_or_failure
        if built is not None:
            built.append(wheel_or_failure)


def build_from_source(spec: str, dest: Path, run: Runner = run_pip) -> str:
    """`pip wheel --no-deps` from the source distribution, kept in `dest` if pure Python: the wheel's name, or
    why there is none."""
    name = Requirement(spec).name
    with tempfile.TemporaryDirectory() as tmp:
        result = run([*PIP, "wheel", "--no-deps", "--no-binary", name, "--wheel-dir", tmp, "--progress-bar", "off",
                      spec])
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            return f"{spec}: no wheel on the index, and building it from source failed: {_tail(result.stderr)}"
        (wheel,) = wheels
        if not all(tag.abi == "none" and tag.platform == "any" for tag in parse_wheel_filename(wheel.name)[3]):
            return f"{spec}: no wheel on the index for this target, and its source builds {wheel.name}, " \
                   "which is not pure Python"
        shutil.move(wheel, dest / wheel.name)
        return wheel.name


def _tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------- what a target installs


def _wheels(folder: Path) -> dict[str, list[tuple[Version, Path]]]:
    found: dict[str, list[tuple[Version, Path]]] = {}
    for path in folder.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(path.name)
        found.setdefault(name, []).append((version, path))
    return found


def _requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as zf:
        (meta,) = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
        headers = email.parser.Parser().parsestr(zf.read(meta).decode("utf-8"), headersonly=True)
    return [Requirement(r) for r in headers.get_all("Requires-Dist") or []]


def closure(folder: Path, root: Requirement, platform: str, python: str) -> tuple[set[Path], list[Requirement]]:
    """The wheels in `folder` that installing `root` on the target takes (by the target's markers and tags, the
    newest version a requirement allows), and the requirements that no wheel there satisfies."""
    tags = supported_tags(platform, python)
    envs = marker_environments(platform, python)
    wheels = {name: [(v, p) for v, p in found if parse_wheel_filename(p.name)[3] & tags]
              for name, found in _wheels(folder).items()}
    taken: set[Path] = set()
    missing: list[Requirement] = []
    todo = [(root, frozenset(root.extras))]
    seen: set[tuple[str, str, frozenset]] = set()
    while todo:
        req, extras = todo.pop()
        key = (canonicalize_name(req.name), str(req.specifier), extras)
        if key in seen:
            continue
        seen.add(key)
        fits = sorted(((v, p) for v, p in wheels.get(key[0], []) if req.specifier.contains(v, prereleases=True)),
                      key=lambda vp: vp[0])
        if not fits:
            missing.append(req)
            continue
        wheel = fits[-1][1]
        taken.add(wheel)
        for dep in _requires(wheel):
            if dep.marker is None or any(_applies(dep.marker, env, extras) for env in envs):
                todo.append((dep, frozenset(dep.extras)))
    return taken, missing


def _applies(marker: Marker, env: dict[str, str], extras: frozenset) -> bool:
    return any(marker.evaluate({**env, "extra": extra}) for extra in (extras or {""}))


# ---------------------------------------------------------------- the bundle


def project_root() -> Path:
    """The checkout this package runs from (an editable install): the bundle carries the very code that builds
    it, wherever the command is started."""
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "src" / "inspect_pipeline").is_dir():
        return root
    raise BundleError(f"inspect_pipeline runs from {Path(__file__).resolve().parents[1]}, not from a checkout: "
                      "run `bundle` from a checkout's editable install (pip install -e .), or pass project=")


def install_files(version: str, requirement: str, pythons: Sequence[str],
                  platforms: Sequence[str]) -> dict[str, bytes]:
    """The install scripts and 安装说明.txt, filled in from the templates in `bundle_files/`: install.bat in GBK
    with CRLF (cmd.exe on Chinese Windows reads code page 936), install.sh in UTF-8 with LF, 安装说明.txt in UTF-8
    with a BOM and CRLF (Notepad)."""
    templates = resources.files("inspect_pipeline.jobs") / "bundle_files"
    values = {"@VERSION@": version, "@REQUIREMENT@": requirement,
              "@PYTHONS@": "、".join(pythons), "@PYTHON_MIN@": pythons[0], "@PYTHON_MAX@": pythons[-1],
              "@PYTHON_LIST@": " ".join(reversed(pythons)),
              "@GLIBC@": next((m.group(1).replace("_", ".") for p in platforms
                               if (m := re.match(r"manylinux_(\d+_\d+)_", p))), "")}

    def fill(name: str) -> str:
        text = (templates / name).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    files = {}
    if any(is_windows(p) for p in platforms):
        files["install.bat"] = fill("install.bat").replace("\n", "\r\n").encode("gbk")
    if any(not is_windows(p) for p in platforms):
        files["install.sh"] = fill("install.sh").encode("utf-8")
    files["安装说明.txt"] = "\ufeff".encode() + fill("install-guide.zh.txt").replace("\n", "\r\n").encode("utf-8")
    return files


def build_bundle(out: Path, *, pythons: Sequence[str] = PYTHONS, platforms: Sequence[str] = PLATFORMS,
                 extras: Sequence[str] = EXTRAS, project: Path | None = None, make_zip: bool = True,
                 progress: Callable[[str], None] | None = None, run: Runner = run_pip) -> dict:
    """Build the bundle in `out` (created; a previous bundle there is replaced, any other existing folder is
    refused) and `out.zip`. Returns the summary also written to `out/bundle.json`: file count and bytes in all
    and per platform, what was built from source, and `failed` (empty when every target resolves)."""
    say = progress or (lambda _: None)
    out = Path(out).absolute()
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or (out / "bundle.json").is_file())):
        raise BundleError(f"{out} exists and is not a bundle: choose a new folder")
    root_dir = project or project_root()
    started = time.monotonic()
    with staged_dir(out, replace=True) as stage:
        wheels = stage / "wheels"
        wheels.mkdir()
        say(f"building the project's wheel from {root_dir}")
        with tempfile.TemporaryDirectory() as tmp:
            result = run([*PIP, "wheel", "--no-deps", "--wheel-dir", tmp, "--progress-bar", "off", str(root_dir)])
            built = list(Path(tmp).glob("inspect_pipeline-*.whl"))
            if result.returncode != 0 or len(built) != 1:
                raise BundleError(f"building the project's wheel failed:\n{_tail(result.stderr)}")
            project_wheel = wheels / built[0].name
            shutil.move(built[0], project_wheel)
        version = str(parse_wheel_filename(project_wheel.name)[1])
        extra = f"[{','.join(extras)}]" if extras else ""
        root = Requirement(f"inspect-pipeline{extra}=={version}")
        from_source: list[str] = []
        failed: dict[tuple[str, str], str] = {}
        for platform, python, cmd in download_commands(f"{project_wheel}{extra}", wheels, pythons=pythons,
                                                       platforms=platforms):
            say(f"downloading for {platform}, CPython {python}")
            if failure := download(cmd, wheels, run, say, from_source):
                failed[platform, python] = failure

        per_platform: dict[str, set[Path]] = {p: set() for p in platforms}
        for platform in platforms:
            for python in pythons:
                if (platform, python) in failed:
                    continue
                for attempt in range(4):
                    taken, missing = closure(wheels, root, platform, python)
                    per_platform[platform] |= taken
                    if not missing or attempt == 3:
                        break
                    specs = [_spec(r) for r in missing]
                    say(f"{platform}, CPython {python} also needs {', '.join(specs)} (pip evaluated their markers "
                        "for this machine): downloading them")
                    ((_, _, cmd),) = download_commands(f"{project_wheel}{extra}", wheels, pythons=[python],
                                                       platforms=[platform], also=specs)
                    if failure := download(cmd, wheels, run, say, from_source):
                        failed[platform, python] = f"missing {', '.join(specs)}: {failure}"
                        break
                if missing and (platform, python) not in failed:
                    failed[platform, python] = f"still missing {', '.join(map(str, missing))}"

        say("writing the install scripts and 安装说明.txt")
        for name, data in install_files(version, str(root), pythons, platforms).items():
            (stage / name).write_bytes(data)
        if (stage / "install.sh").exists():
            (stage / "install.sh").chmod(0o755)
        files = sorted(wheels.iterdir())
        summary = {
            "version": version, "requirement": str(root), "pythons": list(pythons), "platforms": list(platforms),
            "files": len(files), "bytes": sum(p.stat().st_size for p in files),
            "per_platform": {p: {"files": len(ws), "bytes": sum(w.stat().st_size for w in ws),
                                 "wheels": sorted(w.name for w in ws)} for p, ws in per_platform.items()},
            "built_from_source": sorted(set(from_source)),
            "failed": [f"{platform} CPython {python}: {why}" for (platform, python), why in failed.items()],
            "out": str(out), "zip": None, "seconds": round(time.monotonic() - started, 1),
        }
        (stage / "bundle.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    if make_zip:
        say(f"zipping into {out.name}.zip")
        summary["zip"] = str(zip_folder(out))
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary


def _spec(req: Requirement) -> str:
    """A requirement without its marker (pip would evaluate it for this machine again)."""
    return req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "") + str(req.specifier)


def zip_folder(folder: Path) -> Path:
    """`folder.zip` beside it, the folder as its top entry; wheels stored as they are (already compressed)."""
    target = folder.with_name(folder.name + ".zip")
    with staged_file(target) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                method = zipfile.ZIP_STORED if path.suffix == ".whl" else zipfile.ZIP_DEFLATED
                zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}", compress_type=method)
    return target
