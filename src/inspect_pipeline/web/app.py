"""The web page's application: `create_app(data_root)` gives a FastAPI app whose pages read the record as of now and
whose actions (POST forms, each redirected back with a flash message) run the same jobs as the CLI under the same
run lock. Security: a signed session cookie, a CSRF token on every form, 只读/管理员 roles, downloads only of files
the record names (by id), parameters refused when they carry path syntax or odd characters, security headers."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets as tokens
import tempfile
import threading
from pathlib import Path
from urllib.parse import quote, unquote

from fastapi import Depends, FastAPI, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ..core.errors import PipelineError
from ..core.paths import safe_name
from ..core.schedule import upcoming_rows
from ..core.settings import load_settings
from ..core.weeks import Week, closed_week, week_of
from ..jobs.context import clock, open_run
from ..jobs.intake import intake as intake_job
from ..jobs.remind import reminders as reminders_job
from ..jobs.report import weekly_report
from ..jobs.setup import open_data_root
from ..record.files import report_revisions, submission
from ..report.ledger_export import COLUMNS, shown, write_ledger_export
from ..report.status import unsent_mail, week_board
from ..report.summary import report_outputs, OUTCOME_TITLES
from . import views
from .security import LOCAL_ADMIN, Lockout, Signer, User, check_password, load_users, refuse_open_without_users, secret_key

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
COOKIE = "inspect_session"
UPLOAD_TYPES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".et")
SAFE_VALUE = re.compile(r"^[\w\-\s（）()·.:+、,，]*$")  # a parameter: words (any script), week labels, dates
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


class NeedLogin(Exception):
    """No user is logged in where one must be."""


class Problem(Exception):
    """An action refused: shown on the page with this HTTP status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _looks_like(suffix: str, data: bytes) -> bool:
    """Whether the bytes begin as a file of this type does: a zip (xlsx, ods), an OLE compound file (xls, et), or
    text (csv)."""
    if suffix in (".xlsx", ".xlsm", ".ods"):
        return data.startswith(b"PK\x03\x04")
    if suffix in (".xls", ".et"):
        return data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    return b"\x00" not in data[:4096] or data.startswith((b"\xff\xfe", b"\xfe\xff"))  # csv, maybe UTF-16


def _safe(value: str) -> bool:
    return ".." not in value and len(value) <= 200 and bool(SAFE_VALUE.match(value))


def create_app(data_root: Path, *, now: str | dt.datetime | None = None, host: str = "127.0.0.1",
               prefect_ui: str | None = None, https: bool = False, lockout: Lockout | None = None) -> FastAPI:
    """The web page over this data root. `now` fixes its clock (tests, like --now); `host` is where it is bound
    (refused beyond 127.0.0.1 without users); `prefect_ui` the address the runs page links to."""
    settings, paths = open_data_root(Path(data_root))
    secrets_file = paths.secrets_file
    refuse_open_without_users(host, load_users(secrets_file))
    signer = Signer(secret_key(secrets_file))
    lockout = lockout or Lockout()
    action_lock = threading.Lock()  # one action at a time from this page (the jobs also take the run lock)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["outcome_titles"] = OUTCOME_TITLES

    def moment() -> dt.datetime:
        return clock(now, settings)

    app = FastAPI(title="安全排查工作台", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    # ------------------------------------------------------------ session, headers, raw path

    @app.middleware("http")
    async def session_and_headers(request: Request, call_next):
        raw = unquote(unquote(request.url.path))
        if ".." in raw or "\\" in raw or "\x00" in raw:
            response: Response = PlainTextResponse("请求的地址不合法", status_code=400)
        else:
            session = signer.loads(request.cookies.get(COOKIE)) or {}
            fresh = "c" not in session
            if fresh:
                session = {"c": tokens.token_urlsafe(24)}
            request.state.session, request.state.dirty = session, fresh
            response = await call_next(request)
            if request.state.dirty:
                response.set_cookie(COOKIE, signer.dumps(request.state.session), httponly=True, samesite="lax",
                                    secure=https or request.url.scheme == "https", path="/")
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def check_params(request: Request) -> None:
        for value in [*request.path_params.values(), *request.query_params.values(), *request.query_params.keys()]:
            if not _safe(str(value)):
                raise HTTPException(400, "参数中有不允许的字符")

    def current_user(request: Request) -> User | None:
        users = load_users(secrets_file)
        if not users:
            return LOCAL_ADMIN  # bound to 127.0.0.1 (create_app refuses anything else without users)
        return users.get(request.state.session.get("u"))

    def viewer(request: Request) -> User:
        user = current_user(request)
        if user is None:
            raise NeedLogin
        request.state.user = user
        return user

    def admin(user: User = Depends(viewer)) -> User:
        if not user.admin:
            raise HTTPException(403, "只读用户不能执行此操作")
        return user

    async def csrf(request: Request) -> None:
        form = await request.form()
        sent = form.get("csrf")
        if not isinstance(sent, str) or not tokens.compare_digest(sent, request.state.session.get("c", "")):
            raise HTTPException(403, "表单已过期或来源不明（缺少校验码），请刷新页面后重试")

    app.router.dependencies.append(Depends(check_params))

    def flash(request: Request, message: str, kind: str = "ok") -> None:
        request.state.session["f"] = [kind, message]
        request.state.dirty = True

    def render(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
        session = request.state.session
        message = session.pop("f", None)
        if message:
            request.state.dirty = True
        return templates.TemplateResponse(request, name, {
            "user": getattr(request.state, "user", None), "csrf": session["c"], "flash": message,
            "users_configured": bool(load_users(secrets_file)), "bureau": settings.bureau_name, **context,
        }, status_code=status)

    @app.exception_handler(NeedLogin)
    async def to_login(request: Request, exc: NeedLogin):
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(HTTPException)
    async def refused(request: Request, exc: HTTPException):
        return render(request, "error.html", {"message": exc.detail}, exc.status_code)

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem):
        return render(request, "error.html", {"message": exc.message}, exc.status)

    def planned(count: int = 6) -> dict:
        """The next runs `serve` will start, from config.toml as it is now (serve re-reads it too)."""
        try:
            return {"upcoming": upcoming_rows(load_settings(paths.root), moment(), count), "plan_error": ""}
        except PipelineError as exc:
            return {"upcoming": [], "plan_error": str(exc)}

    def chosen_week(week: str | None) -> str:
        if not week:
            return week_of(moment(), settings)
        try:
            return Week.parse(week).label
        except ValueError:
            raise HTTPException(400, f"“{week}”不是周次（例如 2023-W47）") from None

    # ------------------------------------------------------------ login

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request):
        return render(request, "login.html", {"title": "登录"})

    @app.post("/login", dependencies=[Depends(csrf)])
    def login(request: Request, name: str = Form(""), password: str = Form("")):
        address = request.client.host if request.client else "?"
        users = load_users(secrets_file)
        if lockout.locked(name, address):
            log.warning("web: login of %r from %s refused: locked out after wrong passwords", name, address)
            raise Problem(429, "密码错误次数过多，该用户在本机已被锁定 15 分钟")
        user = users.get(name)
        if not check_password(user, password):
            lockout.failed(name, address)
            log.warning("web: wrong password for %r from %s", name, address)
            raise Problem(401, "用户名或密码不正确")
        lockout.succeeded(name, address)
        request.state.session = {"c": tokens.token_urlsafe(24), "u": name}  # a new session at login
        request.state.dirty = True
        log.info("web: %s logged in from %s", name, address)
        return RedirectResponse("/", status_code=303)

    @app.post("/logout", dependencies=[Depends(csrf)])
    def logout(request: Request):
        request.state.session = {"c": tokens.token_urlsafe(24)}
        request.state.dirty = True
        return RedirectResponse("/login", status_code=303)

    # ------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse)
    def week_view(request: Request, week: str | None = None, user: User = Depends(viewer)):
        label = chosen_week(week)
        board = week_board(paths, settings, label, as_of=moment())
        page = views.week_page(board, user, moment().astimezone(settings.tz).date(), settings.warnings.days)
        schools = sorted((s for s in board.roster.schools if s.id is not None and user.sees(s.zone, s.section_owner)),
                         key=lambda s: (s.zone, s.name))
        return render(request, "week.html", {
            "title": "本周", "week": label, "page": page, "cutoff": board.figures.cutoff, "now": moment(),
            "missing_text": views.missing_text(board, user, label), "schools": schools,
            "last_closed": closed_week(moment(), settings), **planned(2),
            "unsent_count": len(unsent_mail(paths)) if user.admin else 0,
        })

    @app.get("/missing.txt", response_class=PlainTextResponse)
    def missing_txt(week: str | None = None, user: User = Depends(viewer)):
        label = chosen_week(week)
        return views.missing_text(week_board(paths, settings, label, as_of=moment()), user, label)

    @app.get("/school/{school_id}", response_class=HTMLResponse)
    def school_view(request: Request, school_id: int, week: str | None = None, user: User = Depends(viewer)):
        board = week_board(paths, settings, chosen_week(week), as_of=moment(), ledger=True)
        school = board.roster.by_id.get(school_id)
        if school is None:
            raise HTTPException(404, "名单中没有这所学校")
        if not user.sees(school.zone, school.section_owner):
            raise HTTPException(403, "您没有查看这所学校的权限")
        return render(request, "school.html", {"title": school.name, "week": board.week,
                                               **views.school_page(board, paths, settings, school_id)})

    def ledger_filters(zone: str = "", owner: str = "", level: str = "", status: str = "", overdue: str = "",
                       due: str = "", week: str = "") -> dict[str, str]:
        return {"zone": zone, "owner": owner, "level": level, "status": status, "overdue": overdue, "due": due,
                "week": week}

    def ledger(board, user, chosen) -> dict:
        return views.ledger_page(board, user, chosen, moment().astimezone(settings.tz).date(), settings.warnings.days)

    @app.get("/hazards", response_class=HTMLResponse)
    def hazards_view(request: Request, chosen: dict = Depends(ledger_filters), user: User = Depends(viewer)):
        label = week_of(moment(), settings)
        board = week_board(paths, settings, label, as_of=moment(), ledger=True)
        page = ledger(board, user, chosen)
        query = "&".join(f"{k}={quote(v)}" for k, v in chosen.items() if v)
        return render(request, "hazards.html", {"title": "隐患台账", "week": label, "page": page,
                                                "columns": COLUMNS, "shown": shown, "query": query})

    @app.get("/hazards.xlsx")
    def hazards_export(chosen: dict = Depends(ledger_filters), user: User = Depends(viewer)):
        label = week_of(moment(), settings)
        board = week_board(paths, settings, label, as_of=moment(), ledger=True)
        page = ledger(board, user, chosen)
        with tempfile.TemporaryDirectory(prefix="ledger-") as folder:
            path = Path(folder) / "export.xlsx"
            write_ledger_export(path, page["rows"], title=f"{settings.bureau_name}隐患台账（{label}）",
                                filters=views.filters_text(chosen), bureau=settings.bureau_name,
                                generated_at=moment())
            data = path.read_bytes()
        name = f"隐患台账_{label}.xlsx"
        log.info("web: %s exported the ledger (%d rows; %s)", user.name, len(page["rows"]),
                 views.filters_text(chosen) or "all")
        return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})

    @app.get("/reports", response_class=HTMLResponse)
    def reports_view(request: Request, user: User = Depends(viewer)):
        return render(request, "reports.html", {"title": "周报", "weeks": views.reports_page(paths, settings, user),
                                                "last_closed": closed_week(moment(), settings)})

    @app.get("/runs", response_class=HTMLResponse)
    def runs_view(request: Request, user: User = Depends(viewer)):
        from ..record.files import recent_runs

        return render(request, "runs.html", {"title": "运行记录", "runs": recent_runs(paths.root, settings),
                                             "prefect_ui": prefect_ui, **planned(),
                                             "unsent": views.unsent_rows(unsent_mail(paths), settings) if user.admin else []})

    # ------------------------------------------------------------ downloads, by record id only

    @app.get("/download/receipt/{submission_id}")
    def receipt(submission_id: int, user: User = Depends(viewer)):
        row = submission(paths.root, settings, submission_id)
        if row is None or not row["receipt_path"]:
            raise HTTPException(404, "没有这个回执")
        if not user.admin:
            board = week_board(paths, settings, row["week"], as_of=moment())
            if row["school_id"] not in views.visible(board, user):
                raise HTTPException(403, "您没有下载这个回执的权限")
        path = views.inside(paths.root, row["receipt_path"])
        if path is None:
            raise HTTPException(404, "回执文件已不在")
        return FileResponse(path, filename=path.name)

    @app.get("/download/report/{report_id}/{key}")
    def report_file(report_id: int, key: str, user: User = Depends(viewer)):
        revision = next((r for r in report_revisions(paths.root, settings) if r["id"] == report_id), None)
        manifest = views.read_manifest(paths, revision["path"]) if revision else None
        if manifest is None:
            raise HTTPException(404, "没有这一版报表")
        output = next((o for o in report_outputs(manifest) if o["key"] == key), None)
        if output is None:
            raise HTTPException(404, "这一版报表中没有这个文件")
        if user.limited and (output["zone"] is None or user.owner or output["zone"] not in user.zones):
            raise HTTPException(403, "您没有下载这个文件的权限")
        path = views.inside(paths.root, output["path"])
        if path is None:
            raise HTTPException(404, "报表文件已不在")
        return FileResponse(path, filename=path.name)

    # ------------------------------------------------------------ actions

    def job(request: Request, user: User, action: str, what: str, fn):
        """Run one action (`action` as the log names it, `what` as the page does) and flash its result."""
        if not action_lock.acquire(blocking=False):
            raise Problem(409, "另一个操作正在进行，请稍后再试")
        try:
            run = open_run(paths.root, now)
            log.info("web: %s started %s", user.name, action)
            try:
                message = fn(run)
            except PipelineError as exc:
                log.warning("web: %s by %s failed: %s", action, user.name, exc)
                flash(request, f"{what}未完成：{exc}", "error")
            else:
                log.info("web: %s by %s finished", action, user.name)
                flash(request, message)
        finally:
            action_lock.release()

    @app.post("/actions/intake", dependencies=[Depends(csrf)])
    def intake_now(request: Request, user: User = Depends(admin)):
        def run_it(run) -> str:
            done = intake_job(run)
            log.info("web: intake run %s by %s: %s", done["run_id"], user.name, done["outcomes"] or "no new files")
            if done["skipped"]:
                return f"收件未进行：{done['skipped']}"
            if not done["outcomes"]:
                return "收件完成：收件箱中没有新文件"
            counts = "，".join(f"{OUTCOME_TITLES.get(k, k)} {n} 个" for k, n in sorted(done["outcomes"].items()))
            return f"收件完成：{counts}" + (f"；{done['left_for_next_run']} 个文件仍在写入，留待下次"
                                          if done["left_for_next_run"] else "")

        job(request, user, "intake", "立即收件", run_it)
        return RedirectResponse("/", status_code=303)

    @app.post("/actions/remind", dependencies=[Depends(csrf)])
    def remind_now(request: Request, user: User = Depends(admin)):
        def run_it(run) -> str:
            done = reminders_job(run, week_of(run.now, run.settings))
            listed = [o for o in done["owners"] if o["units"]]
            mailed, robots, warned = done["mail"], done["robots"], done["warnings"]
            failed = len(mailed["failed"]) + len(robots["failed"])
            return (f"{done['week']} 催报完成：{len(listed)} 位包校责任人有未报单位；整改到期预警 "
                    f"{warned['due_count']} 项即将到期、{warned['overdue_count']} 项已逾期；邮件已发 {mailed['sent']} 封"
                    + (f"，群消息已发 {robots['sent']} 条" if robots["sent"] or robots["failed"] else "")
                    + (f"，{failed} 条未能发出（见运行记录）" if failed else ""))

        job(request, user, "a reminder round", "发送催报", run_it)
        return RedirectResponse("/", status_code=303)

    @app.post("/actions/report", dependencies=[Depends(csrf)])
    def report_now(request: Request, week: str = Form(""), user: User = Depends(admin)):
        label = chosen_week(week) if week else closed_week(moment(), settings)
        if Week.parse(label) > Week.parse(week_of(moment(), settings)):
            raise Problem(400, f"{label} 还没有到，不能生成周报")

        def run_it(run) -> str:
            done = weekly_report(run, label, close_intake=False)
            if done["skipped"]:
                return f"{label} 是不报送周，不生成周报"
            if not done["written"]:
                return f"{label} 的报表没有变化，仍是第 {done['revision']} 版"
            return f"{label} 报表第 {done['revision']} 版已生成"

        job(request, user, f"the report of {label}", "生成周报", run_it)
        return RedirectResponse("/reports", status_code=303)

    @app.post("/actions/upload", dependencies=[Depends(csrf)])
    def upload(request: Request, school_id: int = Form(...), note: str = Form(""), file: UploadFile = File(...),
               user: User = Depends(admin)):
        limit = int(settings.web.max_upload_mb * 1024 * 1024)
        board = week_board(paths, settings, week_of(moment(), settings), as_of=moment())
        school = board.roster.by_id.get(school_id)
        if school is None:
            raise Problem(404, "名单中没有这所学校")
        name = safe_name(Path((file.filename or "").replace("\\", "/")).name, fallback="")
        if not name or Path(name).suffix.lower() not in UPLOAD_TYPES:
            raise Problem(415, f"只能上传报表文件（{'、'.join(UPLOAD_TYPES)}）")
        data = file.file.read(limit + 1)
        if len(data) > limit:
            raise Problem(413, f"文件超过 {settings.web.max_upload_mb:g} MB，未保存")
        if not data:
            raise Problem(400, "文件是空的，未保存")
        if not _looks_like(Path(name).suffix.lower(), data):
            raise Problem(415, f"“{name}”的内容不是{Path(name).suffix}报表文件，未保存")
        if len(note) > 500:
            raise Problem(400, "备注最多 500 字")
        folder = paths.inbox_folder(school.code or school.name)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        part = folder / f".{name}.{tokens.token_hex(4)}.part"  # hidden: intake ignores it while it is written
        taken = Problem(409, f"收件箱中已有同名文件“{name}”（尚未收件），未覆盖；请改名后再上传")
        part.write_bytes(data)
        try:
            os.link(part, target)  # appears whole, and never replaces a file already there
        except FileExistsError:
            raise taken from None
        except OSError:  # a file system without hard links (a share): exclusive creation, still never replacing
            try:
                with open(target, "xb") as out:
                    out.write(data)
            except FileExistsError:
                raise taken from None
        finally:
            part.unlink(missing_ok=True)
        sha = hashlib.sha256(data).hexdigest()
        note_path = paths.upload_note(sha)
        note_path.parent.mkdir(parents=True, exist_ok=True)
        note_path.write_text(json.dumps({
            "school_id": school_id, "file_name": name, "uploaded_by": user.name,
            "uploaded_at": moment().isoformat(timespec="seconds"), "note": note.strip(), "size": len(data),
        }, ensure_ascii=False, indent=1), encoding="utf-8")
        log.info("web: %s uploaded %s for school %d (%d bytes, sha256 %s)", user.name, target.relative_to(paths.root),
                 school_id, len(data), sha)
        flash(request, f"已为 {school.name} 上传“{name}”，下次收件时处理（可点“立即收件”）")
        return RedirectResponse("/", status_code=303)

    return app
