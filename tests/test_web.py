"""The web page (web/) with FastAPI's test client on a generated district: the named lists are the report's and
the status computation's, a role × route table of HTTP statuses, and what is refused (no CSRF token, unknown
download ids, path syntax in parameters, oversized uploads, an upload onto an existing name, a sixth wrong
password)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tomllib

import pytest
from fastapi.testclient import TestClient

from inspect_pipeline.core.errors import ConfigError
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.demo import synth
from inspect_pipeline.demo.run import run_demo
from inspect_pipeline.record.db import make_engine
from inspect_pipeline.report.figures import compute_week
from inspect_pipeline.report.status import week_board, week_status_by_zone
from inspect_pipeline.schools.identity import current_roster
from inspect_pipeline.web.app import create_app
from inspect_pipeline.web.security import ADMIN, READER, Lockout, add_user, load_users

WEEK = "2023-W48"
NOW = "2023-12-01T16:00:00+08:00"  # when the demo built W48's report (cutoff + 4 h)
UNITS = 40
PASSWORD = "correct horse 12"


@pytest.fixture(scope="session")
def district(tmp_path_factory):
    root = tmp_path_factory.mktemp("web") / "demo"
    run_demo(root, units=UNITS, say=lambda _: None)
    return root


@pytest.fixture
def copy(district, tmp_path):
    """A copy of the district a test may change (actions, uploads, users)."""
    root = tmp_path / "demo"
    shutil.copytree(district, root, symlinks=True)
    return root


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def listed(page: str, list_id: str) -> list[tuple[int, str]]:
    block = re.search(rf'<ul id="{list_id}">(.*?)</ul>', page, re.S).group(1)
    return [(int(k), name) for k, name in re.findall(r'<a class="school" href="/school/(\d+)"[^>]*>([^<]+)</a>', block)]


def login(client: TestClient, name: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"csrf": token, "name": name, "password": password}, follow_redirects=False)


# ---------------------------------------------------------------- the named lists


def test_the_named_lists_are_the_reports_missing_units_and_the_status_computation(district):
    client = TestClient(create_app(district, now=NOW))
    page = client.get(f"/?week={WEEK}").text
    missing, rejected = listed(page, "missing-list"), listed(page, "rejected-list")
    settings = load_settings(district)
    paths = Paths.at(district, settings)
    manifest = json.loads(max((district / "reports" / WEEK).glob("r*/manifest.json")).read_text(encoding="utf-8"))
    assert sorted(n for _, n in missing + rejected) == sorted(u["school_name"] for u in manifest["missing_units"])
    engine = make_engine(paths.database_url)
    roster = current_roster(paths, settings, engine, register=False)
    with engine.connect() as conn:
        wf = compute_week(conn, roster, settings, WEEK, as_of=load_settings(district).tz and _moment(NOW))
    engine.dispose()
    assert sorted(k for k, _ in missing + rejected) == sorted(wf.missing_ids)
    assert rejected, "the demo returns some files: the list of 退回未重报 is not empty"
    assert "退回未重报" in page and re.search(r'class="reason">[^<]+<', page)  # each with its reason
    # the zone table is status's (the CLI's `status`), figure for figure
    rows = week_status_by_zone(paths, settings, WEEK, as_of=_moment(NOW))
    table = re.search(r'<table id="zone-table".*?</table>', page, re.S).group(0)
    for row in rows:
        cells = re.search(rf'data-zone="{row["zone"]}">(.*?)</tr>', table, re.S).group(1)
        shown = [int(v) for v in re.findall(r"<td[^>]*>(\d+)</td>", cells)[:6]]
        assert shown == [row[k] for k in ("due", "received", "on_time", "late", "missing", "rejected")]
    text = client.get(f"/missing.txt?week={WEEK}").text
    assert all(name in text for _, name in missing + rejected)


def _moment(text: str):
    import datetime as dt

    return dt.datetime.fromisoformat(text)


# ---------------------------------------------------------------- roles × routes


@pytest.fixture
def with_users(copy):
    settings = load_settings(copy)
    paths = Paths.at(copy, settings)
    board = week_board(paths, settings, WEEK, as_of=_moment(NOW))
    zone = board.figures.by_zone[0]["zone"]
    add_user(paths.secrets_file, "clerk", PASSWORD, ADMIN)
    add_user(paths.secrets_file, "leader", PASSWORD, READER, zones=(zone,))
    return copy, paths, settings, zone, board


def test_every_route_answers_each_role_as_the_table_says(with_users):
    root, paths, settings, zone, board = with_users
    schools = board.roster.schools
    mine = next(s.id for s in schools if s.zone == zone)
    other = next(s.id for s in schools if s.zone != zone)
    from inspect_pipeline.record.files import received_files, report_revisions

    files = [f for f in received_files(root, settings, detail=True) if f["receipt_path"]]
    zone_of = {s.id: s.zone for s in schools}
    receipt_mine = next(f["id"] for f in files if zone_of.get(f["school_id"]) == zone)
    receipt_other = next(f["id"] for f in files if f["school_id"] and zone_of.get(f["school_id"]) != zone)
    report = next(r for r in report_revisions(root, settings) if r["week"] == WEEK)
    extracts = sorted(json.loads((root / report["path"] / "manifest.json").read_text("utf-8"))["outputs"]
                      ["zone_extracts"])
    extract = f"zone-{extracts.index(zone) + 1}"

    gets = {  # route: (anonymous, 只读 of one zone, 管理员)
        "/": (303, 200, 200),
        f"/?week={WEEK}": (303, 200, 200),
        f"/school/{mine}": (303, 200, 200),
        f"/school/{other}": (303, 403, 200),
        "/school/999999": (303, 404, 404),
        "/hazards": (303, 200, 200),
        f"/hazards?zone={zone}&overdue=是": (303, 200, 200),
        "/hazards.xlsx": (303, 200, 200),
        "/reports": (303, 200, 200),
        "/runs": (303, 200, 200),
        "/missing.txt": (303, 200, 200),
        f"/download/receipt/{receipt_mine}": (303, 200, 200),
        f"/download/receipt/{receipt_other}": (303, 403, 200),
        "/download/receipt/999999": (303, 404, 404),
        f"/download/report/{report['id']}/safety_committee": (303, 403, 200),
        f"/download/report/{report['id']}/{extract}": (303, 200, 200),
        f"/download/report/{report['id']}/nothing": (303, 404, 404),
        "/download/report/999999/zone_report": (303, 404, 404),
        "/login": (200, 200, 200),
        "/static/style.css": (200, 200, 200),
    }
    posts = {  # action: (form, anonymous, 只读, 管理员)
        "/actions/intake": ({}, 303, 403, 303),
        "/actions/remind": ({}, 303, 403, 303),
        "/actions/report": ({"week": WEEK}, 303, 403, 303),
    }
    found, expected = {}, {}
    for who, name in enumerate((None, "leader", "clerk")):
        client = TestClient(create_app(root, now=NOW, lockout=Lockout()))
        if name:
            assert login(client, name).status_code == 303
        token = csrf_of(client.get("/login").text)
        for route, statuses in gets.items():
            found[(route, who)] = client.get(route, follow_redirects=False).status_code
            expected[(route, who)] = statuses[who]
        for route, (form, *statuses) in posts.items():
            found[(route, who)] = client.post(route, data={"csrf": token, **form}, follow_redirects=False).status_code
            expected[(route, who)] = statuses[who]
        upload = client.post("/actions/upload", data={"csrf": token, "school_id": str(mine), "note": "代报"},
                             files={"file": (f"代报{who}.xlsx", b"PK\x03\x04 not really", "application/octet-stream")},
                             follow_redirects=False)
        found[("/actions/upload", who)], expected[("/actions/upload", who)] = upload.status_code, (303, 403, 303)[who]
    assert found == expected


def test_a_limited_reader_sees_only_the_schools_of_their_zone(with_users):
    root, paths, settings, zone, board = with_users
    client = TestClient(create_app(root, now=NOW))
    login(client, "leader")
    page = client.get(f"/?week={WEEK}").text
    zone_of = {s.id: s.zone for s in board.roster.schools}
    shown = listed(page, "missing-list") + listed(page, "rejected-list") + listed(page, "late-list")
    assert shown and {zone_of[k] for k, _ in shown} == {zone}
    assert 'id="intake-now"' not in page and 'id="upload-form"' not in page  # no actions for 只读


# ---------------------------------------------------------------- refused


def test_a_post_without_the_csrf_token_is_refused(copy):
    client = TestClient(create_app(copy, now=NOW))
    client.get("/")
    assert client.post("/actions/intake", follow_redirects=False).status_code == 403
    assert client.post("/actions/intake", data={"csrf": "forged"}, follow_redirects=False).status_code == 403
    token = csrf_of(client.get("/").text)
    assert client.post("/actions/intake", data={"csrf": token}, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("route", [
    "/school/..%2F..%2Fconfig.toml",
    "/school/%2e%2e%2fsecrets.toml",
    "/hazards?zone=..%2F..%2Fetc",
    "/hazards?owner=%3Cscript%3E",
    "/missing.txt?week=..%5Csecrets",
    "/download/receipt/..%2F..%2Fsecrets.toml",
    "/download/report/1/..%2F..%2Fsecrets.toml",
    "/?week=2023-W48%00",
])
def test_path_syntax_or_odd_characters_in_a_parameter_are_refused(district, route):
    client = TestClient(create_app(district, now=NOW))
    response = client.get(route, follow_redirects=False)
    assert response.status_code in (400, 404, 422) and "secret_key" not in response.text
    assert response.status_code != 200


def test_downloads_are_by_record_id_only(district):
    client = TestClient(create_app(district, now=NOW))
    assert client.get("/download/receipt/999999").status_code == 404
    assert client.get("/download/report/999999/zone_report").status_code == 404
    assert client.get("/download/receipt/abc").status_code == 422


def test_security_headers_and_the_session_cookie(district):
    client = TestClient(create_app(district, now=NOW))
    response = client.get("/")
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def _upload(client, school_id, name, data, note=""):
    token = csrf_of(client.get("/").text)
    return client.post("/actions/upload", data={"csrf": token, "school_id": str(school_id), "note": note},
                       files={"file": (name, data, "application/octet-stream")}, follow_redirects=False)


def test_an_oversized_upload_or_one_of_another_type_is_refused(copy):
    config = copy / "config.toml"
    config.write_text(config.read_text("utf-8").replace("port = 8080", "port = 8080\nmax_upload_mb = 0.01"), "utf-8")
    client = TestClient(create_app(copy, now=NOW))
    school = week_board(Paths.at(copy, load_settings(copy)), load_settings(copy), WEEK).roster.schools[0]
    assert _upload(client, school.id, "大.xlsx", b"x" * 20_000).status_code == 413
    assert _upload(client, school.id, "a.exe", b"MZ").status_code == 415
    assert _upload(client, school.id, "renamed.xlsx", b"MZ\x90\x00").status_code == 415  # not a workbook inside
    assert _upload(client, school.id, "../../config.xlsx", b"PK\x03\x04").status_code == 303  # the name made safe
    assert not (copy / "config.xlsx").exists()
    assert [p.relative_to(copy / "inbox").parts for p in (copy / "inbox").rglob("config.xlsx")] == [
        (school.code or school.name, "config.xlsx")]


def test_an_upload_never_replaces_a_file_in_the_inbox_and_keeps_its_note(copy):
    settings = load_settings(copy)
    paths = Paths.at(copy, settings)
    client = TestClient(create_app(copy, now=NOW))
    school = week_board(paths, settings, WEEK).roster.schools[0]
    assert _upload(client, school.id, "周报.xlsx", b"PK\x03\x04first", note="11:50 邮件收到").status_code == 303
    assert "已为" in client.get("/").text  # the flash message after the redirect
    again = _upload(client, school.id, "周报.xlsx", b"PK\x03\x04second")
    assert again.status_code == 409 and 'id="flash"' in again.text
    (placed,) = (copy / "inbox").rglob("周报.xlsx")
    assert placed.read_bytes() == b"PK\x03\x04first" and placed.parent.name == (school.code or school.name)
    import hashlib

    note = json.loads(paths.upload_note(hashlib.sha256(b"PK\x03\x04first").hexdigest()).read_text("utf-8"))
    assert note["note"] == "11:50 邮件收到" and note["uploaded_by"] == "本机"
    assert not list((copy / "inbox").rglob("*.part"))  # no temporary left behind


def test_the_sixth_wrong_password_is_refused_even_when_right(with_users):
    root = with_users[0]
    client = TestClient(create_app(root, now=NOW))
    for _ in range(5):
        assert login(client, "clerk", "wrong password").status_code == 401
    assert login(client, "clerk", PASSWORD).status_code == 429
    assert login(client, "leader", PASSWORD).status_code == 303  # another user from the same address is not locked


def test_users_are_required_beyond_localhost_and_stored_only_hashed(copy):
    settings = load_settings(copy)
    paths = Paths.at(copy, settings)
    with pytest.raises(ConfigError, match="web-user add"):
        create_app(copy, host="0.0.0.0")
    config = (copy / "config.toml").read_text("utf-8")
    add_user(paths.secrets_file, "clerk", PASSWORD, ADMIN)
    create_app(copy, host="0.0.0.0")
    text = paths.secrets_file.read_text("utf-8")
    assert PASSWORD not in text and "$argon2" in text
    assert (copy / "config.toml").read_text("utf-8") == config
    assert load_users(paths.secrets_file)["clerk"].role == ADMIN
    # with users configured even 127.0.0.1 asks for a login
    assert TestClient(create_app(copy, now=NOW)).get("/", follow_redirects=False).status_code == 303


def test_secrets_keep_the_mail_password_when_users_are_added(copy):
    secrets = copy / "secrets.toml"
    secrets.write_text('[mail]\npassword = "s3cret"\n', encoding="utf-8")
    add_user(secrets, "张三", PASSWORD, READER, owner="李四")
    data = tomllib.loads(secrets.read_text("utf-8"))
    assert data["mail"]["password"] == "s3cret" and data["web"]["users"]["张三"]["owner"] == "李四"
    assert load_settings(copy).mail.password.get_secret_value() == "s3cret"


# ---------------------------------------------------------------- the actions run the CLI's jobs


def test_an_upload_taken_by_intake_moves_the_school_from_missing_to_reported(copy):
    client = TestClient(create_app(copy, now=NOW))
    page = client.get(f"/?week={WEEK}").text
    key, name = listed(page, "missing-list")[0]
    roster = synth.make_roster(UNITS, 6, seed=2023)
    files = synth.make_week(roster, WEEK, seed=11, share_missing=0.0, share_invalid=0.0, share_messy=0.0)
    good = next(f for f in files if f.school_name == name and f.format == "xlsx")
    assert _upload(client, key, "代报.xlsx", good.content(), note="电话确认").status_code == 303
    token = csrf_of(client.get("/").text)
    done = client.post("/actions/intake", data={"csrf": token})
    assert done.status_code == 200 and 'id="flash"' in done.text and "收件完成" in done.text
    page = client.get(f"/?week={WEEK}").text
    assert key not in [k for k, _ in listed(page, "missing-list")]
    school = client.get(f"/school/{key}").text
    assert "代报上传" in school and "电话确认" in school


def test_the_ledger_shows_no_missing_value_words_and_filters_by_zone(district):
    client = TestClient(create_app(district, now=NOW))
    whole = client.get("/hazards").text
    cells = re.findall(r"<td>([^<]*)</td>", whole)
    assert cells and not {c.strip().lower() for c in cells} & {"nan", "nat", "none", "null"}
    zone = re.search(r'<select name="zone" id="filter-zone"><option value="">全部</option>\s*<option value="([^"]+)"',
                     whole).group(1)
    chosen = client.get(f"/hazards?zone={zone}&overdue=是").text
    rows = re.findall(r"<tr(?: class=\"major\")?><td>([^<]*)</td>", chosen)
    assert rows and set(rows) == {zone}
    assert client.get(f"/hazards.xlsx?zone={zone}").headers["content-type"].startswith("application/vnd.openxml")


# ---------------------------------------------------------------- the planned runs and what could not be sent


def test_the_runs_page_shows_the_planned_runs_and_the_messages_not_sent(copy):
    from inspect_pipeline.deliver.delivery import send_robot_report

    with (copy / "config.toml").open("a", encoding="utf-8") as config:  # a robot nobody answers (port 9 is refused)
        config.write('\n[robots.anweiban]\nkind = "wecom"\npurpose = "reports"\nbase_url = "http://127.0.0.1:9"\n'
                     'attempts = 1\nbackoff_seconds = 0\ntimeout_seconds = 2\n')
    with (copy / "secrets.toml").open("a", encoding="utf-8") as secrets:
        secrets.write('\n[robots.anweiban]\nkey = "k-secret-1"\n')
    settings = load_settings(copy)
    manifest = json.loads(next((copy / "reports" / WEEK).rglob("manifest.json")).read_text(encoding="utf-8"))
    assert send_robot_report(Paths.at(copy, settings), settings, manifest, dt.datetime.fromisoformat(NOW)).failed
    client = TestClient(create_app(copy, now=NOW))
    runs = client.get("/runs").text
    planned = re.search(r'<ul id="upcoming-runs">(.*?)</ul>', runs, re.S).group(1)
    assert re.findall(r"<li>([^<]+)</li>", planned)[:3] == [  # Thursday 15:00 and Friday 09:00, the report after cutoff
        "12月7日（周四）15:00 催报 2023-W49", "12月8日（周五）09:00 催报 2023-W49", "12月8日（周五）12:30 周报 2023-W49"]
    unsent = re.search(r'<table class="grid" id="unsent-table">(.*?)</table>', runs, re.S).group(1)
    assert "群机器人 anweiban" in unsent and f"{WEEK} 安全隐患周报已生成（第1版）" in unsent
    assert "k-secret-1" not in runs and "2023-12-01 16:00" in unsent  # the last try in local time
    week = client.get("/").text
    assert "接下来自动运行：12月7日（周四）15:00 催报 2023-W49；12月8日（周五）09:00 催报 2023-W49" in week
    assert 'id="unsent-note"' in week and "1 条邮件或群消息未能发出" in week
    (copy / "config.toml").write_text("[schedule\n", encoding="utf-8")  # a broken config: said, not a crash
    assert "无法读取定时计划" in client.get("/runs").text
