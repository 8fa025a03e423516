"""Real-browser test support: Debian's headless Chromium driven by Selenium, an ASGI app served on a free port.

Imported by tests as ``from browser import ...`` (like ``support``: pytest puts tests/ on sys.path).

- ``missing_browser()``: which of chromium, chromedriver, selenium are absent (for ``pytest.mark.skipif``;
  ``needs_browser`` is that mark). .ci/run installs the Debian packages, the test extra installs selenium.
- ``chrome(window=(1366, 768))``: a headless Chromium (``/usr/bin/chromium`` via ``/usr/bin/chromedriver``;
  Selenium Manager is never asked: no driver or browser is downloaded), language zh-CN, a private profile,
  a viewport of exactly ``window`` CSS pixels (a width under 600 is a phone: mobile emulation). Always quit.
- ``serve_app(app)``: an ASGI app (any: Starlette, FastAPI, ...) in a uvicorn server in a thread, on a free
  127.0.0.1 port, yields its base URL; ``serve_command(argv)``: the same for a command line that serves
  on ``{port}`` (``inspect-pipeline web --data-root D --host 127.0.0.1 --port {port}``).
- ``screenshot(driver, name)`` / ``save_page_source(driver, name)`` / ``capture_on_failure(driver, name)``:
  PNG and HTML into the artefacts folder (``$INSPECT_ARTIFACTS``, else ``tests/artifacts/browser/``, git-ignored).
- ``wait_for_id``, ``wait_for_text``, ``wait_for_url``: WebDriverWait with bounded timeouts and messages
  that say where the page was.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # selenium is a test extra; this module imports without it (missing_browser says so)
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium (a launcher script for /usr/lib/chromium/chromium)
CHROMEDRIVER = "/usr/bin/chromedriver"  # Debian's chromium-driver, the same version as chromium
PAGE_LOAD_TIMEOUT = 20.0  # seconds for driver.get() and a form submission's navigation
WAIT_TIMEOUT = 10.0  # seconds for the wait_for_* helpers
SERVER_START_TIMEOUT = 20.0  # seconds for a served app to answer
PHONE_BELOW = 600  # a viewport narrower than this is emulated as a phone (meta viewport, touch-less)


# ---------------------------------------------------------------- what is there


def missing_browser() -> list[str]:
    """The names of what a browser test needs and this machine lacks: chromium, chromedriver, selenium."""
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
               if not os.access(path, os.X_OK)]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium")
    return missing


needs_browser = pytest.mark.skipif(
    bool(missing_browser()),
    reason=f"no real browser here (missing: {', '.join(missing_browser())}); .ci/run installs Debian's chromium "
           "and chromium-driver, the test extra selenium")


# ---------------------------------------------------------------- the browser


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@contextlib.contextmanager
def chrome(window: tuple[int, int] = (1366, 768), *, mobile: bool | None = None, lang: str = "zh-CN",
           page_load_timeout: float = PAGE_LOAD_TIMEOUT) -> Iterator[WebDriver]:
    """A headless Debian Chromium whose pages see a viewport of ``window`` (width, height) CSS pixels.

    ``mobile`` (default: width < 600) emulates a phone: the page's ``<meta name="viewport">`` is honoured, as on a
    real phone (a page without it is laid out 980 px wide and shrunk). The driver is always quit and its
    private profile removed."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # Selenium Manager is skipped when the Service names the driver; should it run all the same, offline
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    profile = Path(tempfile.mkdtemp(prefix="inspect-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    width, height = window
    for arg in ("--headless=new", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                f"--window-size={width},{height}", f"--lang={lang}", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-gpu", "--hide-scrollbars", "--mute-audio",
                "--password-store=basic", "--force-color-profile=srgb"):
        options.add_argument(arg)
    if _is_root():  # Chromium's sandbox refuses to run as root
        options.add_argument("--no-sandbox")
    options.add_experimental_option("prefs", {"intl.accept_languages": f"{lang},{lang.split('-')[0]}",
                                              "download.default_directory": str(profile / "downloads"),
                                              "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log = profile / "chromedriver.log"
    # Chromium on Linux takes its own UI's language (a file input's "选择文件", say) from LANGUAGE, not --lang;
    # the strings come from Debian's chromium-l10n (without it: English buttons, pages unaffected)
    env = {**os.environ, "LANGUAGE": f"{lang.replace('-', '_')}:{lang.split('-')[0]}"}
    service = Service(executable_path=CHROMEDRIVER, log_output=str(log), env=env)
    try:
        try:
            driver = webdriver.Chrome(service=service, options=options)
        except Exception as err:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"chromium did not start ({CHROMIUM} via {CHROMEDRIVER}): {err}\n{tail}") from err
        try:
            driver.set_page_load_timeout(page_load_timeout)
            driver.set_script_timeout(page_load_timeout)
            resize(driver, window, mobile=mobile)
            yield driver
        finally:
            driver.quit()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def resize(driver: WebDriver, window: tuple[int, int], *, mobile: bool | None = None) -> None:
    """Give the page a viewport of exactly ``window`` CSS pixels (a headless window's own size includes its
    frame, and Chromium will not make one narrower than 500 px: the viewport is emulated instead)."""
    width, height = window
    if mobile is None:
        mobile = width < PHONE_BELOW
    driver.set_window_size(max(width, 500), height + 200)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def viewport(driver: WebDriver) -> tuple[int, int]:
    """The (width, height) the page sees (window.innerWidth, innerHeight)."""
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    return int(width), int(height)


_GLYPHS_JS = """
const [chars, font] = arguments;
const canvas = document.createElement('canvas');
canvas.width = 64; canvas.height = 64;
const ctx = canvas.getContext('2d', {willReadFrequently: true});
return chars.map(ch => {
  ctx.clearRect(0, 0, 64, 64);
  ctx.fillStyle = '#000'; ctx.textBaseline = 'top'; ctx.font = '40px ' + font;
  ctx.fillText(ch, 8, 8);
  const data = ctx.getImageData(0, 0, 64, 64).data;
  let ink = 0, hash = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) ink++; hash = (hash * 31 + data[i]) | 0; }
  return [ink, hash];
});
"""


def glyphs_differ(driver: WebDriver, chars: Sequence[str], font: str = "sans-serif") -> bool:
    """True when each of ``chars`` draws with ink and no two draw alike in ``font`` (CSS font-family) on this
    page: a missing font draws every character as the same empty box ("tofu")."""
    drawn = [tuple(d) for d in driver.execute_script(_GLYPHS_JS, list(chars), font)]
    return all(ink > 0 for ink, _ in drawn) and len(set(drawn)) == len(drawn)


# ---------------------------------------------------------------- serving an app


def _free_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def _wait_until_answers(url: str, timeout: float, alive: Callable[[], bool]) -> None:
    """Until ``url`` answers any HTTP status; raise if ``alive()`` turns false or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server for {url} stopped before it answered (last error: {last})")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:  # any status is an answer
            return
        except OSError as err:
            last = err
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s (last error: {last})")


@contextlib.contextmanager
def serve_app(app: Any, *, factory: bool = False, host: str = "127.0.0.1", probe: str = "/",
              timeout: float = SERVER_START_TIMEOUT, log_level: str = "warning") -> Iterator[str]:
    """Serve an ASGI ``app`` (an app object, an import string "pkg.mod:attr", or with ``factory=True`` a
    callable returning the app, e.g. ``functools.partial(create_app, root)``) with uvicorn in a background
    thread on a free port of ``host``; yield the base URL ("http://127.0.0.1:PORT", no trailing slash) once
    ``probe`` answers; stop the server (and the app's lifespan) on leaving."""
    import uvicorn

    config = uvicorn.Config(app, factory=factory, host=host, port=0, log_level=log_level, ws="none",
                            lifespan="auto", access_log=False, timeout_graceful_shutdown=5)

    class _Server(uvicorn.Server):
        def install_signal_handlers(self) -> None:  # uvicorn < 0.29: not from a thread
            pass

    server = _Server(config)
    sock = _free_socket(host)
    port = sock.getsockname()[1]
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as err:  # noqa: BLE001 - reported to the test's thread
            failure.append(err)

    thread = threading.Thread(target=run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    base = f"http://{host}:{port}"
    try:
        try:
            _wait_until_answers(base + probe, timeout, thread.is_alive)
        except Exception as err:
            if failure:
                raise RuntimeError(f"the app did not start: {failure[0]!r}") from failure[0]
            raise err
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"the uvicorn server on {base} did not stop")


@contextlib.contextmanager
def serve_command(argv: Sequence[str], *, host: str = "127.0.0.1", probe: str = "/",
                  timeout: float = SERVER_START_TIMEOUT, env: dict[str, str] | None = None,
                  cwd: str | Path | None = None) -> Iterator[str]:
    """Run a command line that serves HTTP on a free port of ``host`` until leaving; each ``{port}`` in
    ``argv`` becomes that port. Yield the base URL once ``probe`` answers; then terminate it (kill after 10 s).
    Its output goes to a log shown when it fails to start. E.g.
    ``serve_command(["inspect-pipeline", "web", "--data-root", str(root), "--host", "127.0.0.1",
    "--port", "{port}"])``."""
    with _free_socket(host) as sock:  # a port free now; the command binds it itself
        port = sock.getsockname()[1]
    args = [str(a).replace("{port}", str(port)) for a in argv]
    base = f"http://{host}:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})}, cwd=cwd)
        try:
            try:
                _wait_until_answers(base + probe, timeout, lambda: proc.poll() is None)
            except Exception as err:
                log.seek(0)
                output = log.read().decode("utf-8", "replace")[-3000:]
                raise RuntimeError(f"{' '.join(args)} did not serve {base}: {err}\n{output}") from err
            yield base
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


# ---------------------------------------------------------------- artefacts


def artifacts_dir() -> Path:
    """Where screenshots and page sources go: $INSPECT_ARTIFACTS, else tests/artifacts/browser/ (git-ignored)."""
    folder = Path(os.environ.get("INSPECT_ARTIFACTS") or REPO / "tests" / "artifacts" / "browser")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _artifact(name: str, suffix: str) -> Path:
    safe = re.sub(r"[^\w.-]+", "_", name).strip("._") or "page"
    return artifacts_dir() / (safe if safe.endswith(suffix) else safe + suffix)


def screenshot(driver: WebDriver, name: str, *, max_height: int = 8000) -> Path:
    """Save a PNG of the whole page (its full scroll height up to ``max_height`` CSS px, at the viewport's
    width) as ``<artefacts>/<name>.png``; return its path."""
    path = _artifact(name, ".png")
    try:
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        content, view = metrics["cssContentSize"], metrics["cssLayoutViewport"]
        clip = {"x": 0, "y": 0, "width": view["clientWidth"],
                "height": min(max(content["height"], view["clientHeight"]), max_height), "scale": 1}
        shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                      {"format": "png", "captureBeyondViewport": True, "clip": clip})
        path.write_bytes(base64.b64decode(shot["data"]))
    except Exception:  # noqa: BLE001 - a plain viewport screenshot rather than none
        driver.save_screenshot(str(path))
    return path


def save_page_source(driver: WebDriver, name: str) -> Path:
    """Save the page's current DOM (as HTML, with its URL and the browser console in a comment) as
    ``<artefacts>/<name>.html``; return its path."""
    path = _artifact(name, ".html")
    try:
        console = "\n".join(f"{e.get('level')}: {e.get('message')}" for e in driver.get_log("browser"))
    except Exception:  # noqa: BLE001 - the log is a bonus
        console = "(no console log)"
    note = f"<!-- {driver.current_url}\n{console.replace('--', '- -')} -->\n"
    path.write_text(note + driver.page_source, encoding="utf-8")
    return path


@contextlib.contextmanager
def capture_on_failure(driver: WebDriver, name: str) -> Iterator[None]:
    """On an exception inside, save ``<name>-failure.png`` and ``.html`` (screenshot, DOM) and re-raise."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            screenshot(driver, f"{name}-failure")
        with contextlib.suppress(Exception):
            save_page_source(driver, f"{name}-failure")
        raise


# ---------------------------------------------------------------- waiting


def _where(driver: WebDriver) -> str:
    try:
        body = driver.execute_script("return document.body ? document.body.innerText : ''") or ""
        return f" (at {driver.current_url}; page text: {body[:300]!r})"
    except Exception:  # noqa: BLE001
        return ""


def _wait(driver: WebDriver, condition: Callable[[Any], Any], timeout: float, what: str) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)
    except TimeoutException as err:
        raise TimeoutException(f"waited {timeout:g} s for {what}{_where(driver)}") from err


def wait_for_id(driver: WebDriver, element_id: str, *, visible: bool = True,
                timeout: float = WAIT_TIMEOUT) -> WebElement:
    """The element with this id, once it is in the page (and displayed, unless ``visible=False``)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec

    locator = (By.ID, element_id)
    condition = ec.visibility_of_element_located(locator) if visible else ec.presence_of_element_located(locator)
    return _wait(driver, condition, timeout, f"#{element_id}")


def wait_for_text(driver: WebDriver, text: str, *, element_id: str | None = None, css: str | None = None,
                  timeout: float = WAIT_TIMEOUT) -> WebElement:
    """The element (by id, by CSS selector, else <body>) once its visible text contains ``text``."""
    from selenium.webdriver.common.by import By

    locator = (By.ID, element_id) if element_id else (By.CSS_SELECTOR, css or "body")

    def found(d: WebDriver) -> WebElement | bool:
        from selenium.common.exceptions import StaleElementReferenceException

        try:
            for element in d.find_elements(*locator):
                if text in element.text:
                    return element
        except StaleElementReferenceException:
            pass
        return False

    return _wait(driver, found, timeout, f"text {text!r} in {locator[1]}")


def wait_for_url(driver: WebDriver, part: str, *, timeout: float = WAIT_TIMEOUT) -> str:
    """The current URL once it contains ``part`` (after a redirect, say)."""
    return _wait(driver, lambda d: d.current_url if part in d.current_url else False, timeout,
                 f"a URL containing {part!r}")


__all__ = ["CHROMEDRIVER", "CHROMIUM", "artifacts_dir", "capture_on_failure", "chrome", "glyphs_differ",
           "missing_browser", "needs_browser", "resize", "save_page_source", "screenshot", "serve_app",
           "serve_command", "viewport", "wait_for_id", "wait_for_text", "wait_for_url"]
