"""tests/browser.py works: a tiny Starlette app (a Chinese page, a form with a file upload and a CSRF-like hidden
field, a POST that redirects back with a flash message) served by ``serve_app``, driven in headless Chromium at
a desktop and a phone viewport, with screenshots in the artefacts folder."""

from __future__ import annotations

import html
import secrets
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser import (
    capture_on_failure,
    chrome,
    glyphs_differ,
    needs_browser,
    save_page_source,
    screenshot,
    serve_app,
    serve_command,
    viewport,
    wait_for_id,
    wait_for_text,
    wait_for_url,
)

TITLE = "学校安全隐患排查 · 上报"
HEADING = "丰润区学校安全隐患排查"

pytestmark = pytest.mark.slow


def make_app():
    """A page in Chinese with an upload form; POST /upload checks the token, keeps the file, redirects to / (303)
    and / shows the flash message once."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse
    from starlette.routing import Route

    token = secrets.token_urlsafe(16)
    received: list[tuple[str, str, bytes]] = []
    flashes: list[str] = []

    async def page(request: Request) -> HTMLResponse:
        flash = f'<p id="flash" role="status">{html.escape(flashes.pop())}</p>' if flashes else ""
        return HTMLResponse(f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{TITLE}</title>
<style>body {{ font-family: sans-serif; margin: 1rem; max-width: 40rem; }} input {{ max-width: 100%; }}
#flash {{ background: #e6f4ea; padding: .5rem; }}</style></head>
<body><h1 id="heading">{HEADING}</h1>{flash}
<form id="upload" method="post" action="/upload" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{token}">
<p><label for="school">学校名称</label> <input id="school" name="school" required></p>
<p><label for="file">排查表</label> <input id="file" type="file" name="file" required></p>
<p><button id="send" type="submit">上传</button></p></form>
<p>共 {len(received)} 份已收到。</p></body></html>""")

    async def upload(request: Request):
        async with request.form() as form:  # closes the upload's spooled file (unclosed: a ResourceWarning)
            if form.get("csrf") != token:
                return PlainTextResponse("令牌无效", status_code=403)
            file = form["file"]
            data = await file.read()
            received.append((str(form["school"]), file.filename, data))
            flashes.append(f"已收到 {form['school']} 的 {file.filename}（{len(data)} 字节）")
        return RedirectResponse("/?sent=1", status_code=303)

    app = Starlette(routes=[Route("/", page), Route("/upload", upload, methods=["POST"])])
    app.state.received = received
    return app


@pytest.fixture(scope="module")
def site():
    app = make_app()
    with serve_app(app) as base:
        yield base, app


@needs_browser
def test_a_desktop_browser_uploads_a_file_through_the_form_and_sees_the_flash(site, tmp_path):
    base, app = site
    sheet = tmp_path / "一实小-第47周.xlsx"
    sheet.write_bytes(b"PK\x03\x04" + "隐患排查".encode() * 100)
    with chrome(window=(1366, 768)) as driver, capture_on_failure(driver, "support-desktop"):
        driver.get(base + "/")
        assert wait_for_id(driver, "heading").text == HEADING
        assert driver.title == TITLE
        assert viewport(driver) == (1366, 768)
        assert driver.execute_script("return navigator.language") == "zh-CN"
        shot = screenshot(driver, "support-desktop-form")
        assert shot.stat().st_size > 5000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        driver.find_element("id", "school").send_keys("丰润区第一实验小学")
        driver.find_element("id", "file").send_keys(str(sheet))  # a file input takes the path
        driver.find_element("id", "send").click()
        wait_for_url(driver, "sent=1")
        flash = wait_for_text(driver, "已收到", element_id="flash")
        size = sheet.stat().st_size
        assert flash.text == f"已收到 丰润区第一实验小学 的 {sheet.name}（{size} 字节）"
        assert app.state.received[-1] == ("丰润区第一实验小学", sheet.name, sheet.read_bytes())
        screenshot(driver, "support-desktop-flash")
        assert "已收到" in save_page_source(driver, "support-desktop-flash").read_text(encoding="utf-8")

        driver.refresh()  # the flash is shown once
        wait_for_text(driver, "份已收到")
        assert not driver.find_elements("id", "flash")


@needs_browser
def test_a_phone_viewport_lays_the_page_out_at_390_px_with_chinese_glyphs_not_boxes(site):
    base, _ = site
    with chrome(window=(390, 844)) as driver, capture_on_failure(driver, "support-phone"):
        driver.get(base + "/")
        wait_for_text(driver, "丰润区", element_id="heading")
        assert viewport(driver) == (390, 844)
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390  # no sideways scroll
        assert driver.find_element("id", "send").is_displayed()
        # a missing CJK font draws every character as the same box; a present one draws each differently
        font = driver.execute_script("return getComputedStyle(document.getElementById('heading')).fontFamily")
        assert glyphs_differ(driver, list("丰润区学校安全"), font)
        assert glyphs_differ(driver, list("隐患排查"), "serif")
        assert not glyphs_differ(driver, ["\ue000", "\ue001"], font)  # characters no font has: the same box
        screenshot(driver, "support-phone")


@needs_browser
def test_a_wait_that_times_out_says_where_the_page_was(site):
    from selenium.common.exceptions import TimeoutException

    base, _ = site
    with chrome() as driver:
        driver.get(base + "/")
        started = time.monotonic()
        with pytest.raises(TimeoutException, match=r"text '不存在的文字'.*at http://127\.0\.0\.1"):
            wait_for_text(driver, "不存在的文字", timeout=0.5)
        assert time.monotonic() - started < 5


def test_serve_app_answers_on_a_free_port_and_stops_on_leaving():
    with serve_app(make_app()) as base:
        port = int(base.rsplit(":", 1)[1])
        with urllib.request.urlopen(base + "/", timeout=5) as response:
            assert HEADING in response.read().decode("utf-8")
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_serve_app_says_why_an_app_that_fails_to_start_did_not():
    async def broken(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "数据目录不存在"})

    with pytest.raises(RuntimeError, match="stopped before it answered|did not start"), serve_app(broken, timeout=10):
        pass


def test_serve_command_runs_a_server_command_on_the_port_it_is_given(tmp_path):
    (tmp_path / "tinyapp.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n        return\n"
        "    await send({'type': 'http.response.start', 'status': 200,\n"
        "                'headers': [(b'content-type', b'text/plain')]})\n"
        "    await send({'type': 'http.response.body', 'body': 'ok 你好'.encode()})\n", encoding="utf-8")
    argv = [sys.executable, "-m", "uvicorn", "--app-dir", str(tmp_path), "tinyapp:app", "--lifespan", "off",
            "--host", "127.0.0.1", "--port", "{port}"]
    with serve_command(argv) as base:
        with urllib.request.urlopen(base + "/", timeout=5) as response:
            assert response.read().decode("utf-8") == "ok 你好"


def test_screenshots_go_where_INSPECT_ARTIFACTS_says(monkeypatch, tmp_path):
    import browser

    monkeypatch.setenv("INSPECT_ARTIFACTS", str(tmp_path / "out"))
    assert browser.artifacts_dir() == tmp_path / "out" and (tmp_path / "out").is_dir()
    assert browser._artifact("页面 / 上传?", ".png") == tmp_path / "out" / "页面_上传.png"
    monkeypatch.delenv("INSPECT_ARTIFACTS")
    assert browser.artifacts_dir() == Path(browser.__file__).parent / "artifacts" / "browser"
