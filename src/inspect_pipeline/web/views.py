"""What each page shows, read through the library functions the CLI and the reports use (report.status.week_board:
one computation of the week's figures, statuses and ledger; record.files for files, runs and revisions), then
narrowed to what the user may see (a 只读 user limited to 片区 or to one 包校责任人)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

from ..core.paths import Paths
from ..core.settings import Settings
from ..record.files import received_files, report_revisions
from ..report.deadlines import DUE, OVERDUE, flag_deadlines
from ..report.listings import REPORT_STATUS
from ..report.status import Board, stale_reports
from ..report.summary import OUTCOME_TITLES, report_outputs
from .security import User

OUTCOMES = OUTCOME_TITLES


def visible(board: Board, user: User) -> set[int]:
    """The ids of the roster's schools this user may see."""
    return {s.id for s in board.roster.schools if s.id is not None and user.sees(s.zone, s.section_owner)}


def week_page(board: Board, user: User, today: dt.date | None = None, days: int = 3) -> dict:
    """本周: the zone table (the board's own rows; for a limited user, the same statuses counted over their schools),
    the named lists, the reporting rate, the open 重大 count and, given `today`, the deadline warnings' counts
    (open hazards due within `days` days, and overdue: report.deadlines)."""
    seen = visible(board, user)
    schools = board.roster.by_id
    h = board.figures.hazards
    open_major = h[~h["done"] & h["major"] & h["school_id"].isin(seen)] if not h.empty else h
    majors_by_zone = Counter(open_major["zone"]) if not h.empty else Counter()
    if user.limited:
        rows = _counted_rows(board, seen)
    else:
        rows = [dict(r) for r in board.rows]
    for row in rows:
        row["open_major"] = len(open_major) if row["zone"] == "合计" else majors_by_zone.get(row["zone"], 0)
    order = {s.id: i for i, s in enumerate(board.roster.schools)}

    def named(status: str) -> list[dict]:
        keys = sorted((k for k, s in board.status.items() if s == status and k in seen), key=order.__getitem__)
        return [{"id": k, "name": schools[k].name, "zone": schools[k].zone, "owner": schools[k].section_owner,
                 "reason": board.reasons.get(k, ""), "received_at": board.received_at.get(k, "")[:16].replace("T", " ")}
                for k in keys]

    total = rows[-1] if rows else {"due": 0, "received": 0}
    return {
        "rows": rows,
        "missing": named(REPORT_STATUS["missing"]),
        "rejected": named(REPORT_STATUS["rejected"]),
        "late": named(REPORT_STATUS["late"]),
        "rate": total["received"] / total["due"] if total["due"] else None,
        "open_major": len(open_major),
        "warnings": _warning_counts(h[h["school_id"].isin(seen)] if not h.empty else h, today, days),
    }


def _warning_counts(h, today: dt.date | None, days: int) -> dict | None:
    """整改到期预警 over these hazards (the board's): due within `days` days of `today`, overdue, and 重大 of each."""
    if today is None:
        return None
    out = {"days": days, "due": 0, "due_major": 0, "overdue": 0, "overdue_major": 0}
    if h.empty:
        return out
    flagged = flag_deadlines(h, today, days)
    for key, kind in (("due", DUE), ("overdue", OVERDUE)):
        mine = flagged[flagged["warning"] == kind]
        out[key], out[f"{key}_major"] = len(mine), int(mine["major"].sum())
    return out


def with_warnings(rows: list[dict], today: dt.date, days: int) -> list[dict]:
    """The ledger's rows with `warning` (即将到期 / 已逾期 / None) and `days_left`, as report.deadlines counts them."""
    if not rows:
        return rows
    import pandas as pd

    frame = pd.DataFrame({k: [r.get(k) for r in rows] for k in ("deadline", "mode", "found_date", "done")})
    flagged = flag_deadlines(frame, today, days)
    for row, warning, left in zip(rows, flagged["warning"], flagged["days_left"], strict=True):
        row["warning"] = warning
        row["days_left"] = None if pd.isna(left) else int(left)
    return rows


def _counted_rows(board: Board, seen: set[int]) -> list[dict]:
    """The zone table over some schools only, counted from the board's statuses."""
    schools = board.roster.by_id
    zones = list(dict.fromkeys(schools[k].zone for k in board.status if k in seen))
    rows = []
    for zone in [*zones, None]:
        mine = [s for k, s in board.status.items() if k in seen and (zone is None or schools[k].zone == zone)]
        n = Counter(mine)
        received = n[REPORT_STATUS["on_time"]] + n[REPORT_STATUS["late"]]
        rows.append({"zone": zone or "合计", "due": len(mine), "received": received,
                     "on_time": n[REPORT_STATUS["on_time"]], "late": n[REPORT_STATUS["late"]],
                     "missing": n[REPORT_STATUS["missing"]] + n[REPORT_STATUS["rejected"]],
                     "rejected": n[REPORT_STATUS["rejected"]],
                     "report_rate": received / len(mine) if mine else None})
    return rows


def missing_text(board: Board, user: User, week_label: str) -> str:
    """复制未报名单: the named lists as plain text for a group chat."""
    page = week_page(board, user)
    lines = [f"{week_label} 截至目前未报送的单位（{len(page['missing'])} 所）："]
    lines += [f"{i}. {u['name']}（{u['zone']}，{u['owner']}）" for i, u in enumerate(page["missing"], 1)]
    if page["rejected"]:
        lines += ["", f"被退回、尚未重新报送的单位（{len(page['rejected'])} 所）："]
        lines += [f"{i}. {u['name']}（{u['zone']}）：{u['reason']}" for i, u in enumerate(page["rejected"], 1)]
    if not page["missing"] and not page["rejected"]:
        lines = [f"{week_label}：应报单位已全部报送。"]
    return "\n".join(lines) + "\n"


def school_page(board: Board, paths: Paths, settings: Settings, school_id: int) -> dict:
    """学校: its weeks of the campaign (status from the board's reporting frame), every file it sent with outcome,
    time, problems and any note kept with an upload, and its open hazards."""
    school = board.roster.by_id[school_id]
    files = received_files(paths.root, settings, school_id=school_id, detail=True)
    for f in files:
        f["outcome_text"] = OUTCOMES.get(f["outcome"], f["outcome"])
        f["received_text"] = f["received_at"][:16].replace("T", " ")
        f["upload"] = read_note(paths, f["sha256"])
    rejected_weeks = {f["week"] for f in files if f["outcome"] == "rejected"}
    r = board.figures.reporting
    mine = r[r["school_id"] == school_id].sort_values("week", ascending=False)
    weeks = []
    for week, received, on_time in zip(mine["week"], mine["received"], mine["on_time"], strict=True):
        if received:
            status = REPORT_STATUS["on_time" if on_time else "late"]
        else:
            status = REPORT_STATUS["rejected" if week in rejected_weeks else "missing"]
        weeks.append({"week": week, "status": status})
    hazards = [h for h in board.ledger or [] if h["school_id"] == school_id and not h["done"]]
    return {"school": school, "files": files[::-1], "weeks": weeks, "hazards": hazards}


def read_note(paths: Paths, sha256: str) -> dict | None:
    path = paths.upload_note(sha256)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


LEDGER_FILTERS = ("zone", "owner", "level", "status", "overdue", "due", "week")


def ledger_page(board: Board, user: User, chosen: dict[str, str], today: dt.date | None = None,
                days: int = 3) -> dict:
    """隐患台账: the hazards this user may see, filtered; the choices each filter offers. 到期预警 (given `today`):
    即将到期 = open and due within `days` days, 已逾期 = open and past its deadline (report.deadlines)."""
    seen = visible(board, user)
    rows = [h for h in board.ledger or [] if h["school_id"] in seen]
    if today is not None:
        rows = with_warnings(rows, today, days)
    options = {
        "zone": sorted({h["zone"] for h in rows}),
        "owner": sorted({h["section_owner"] for h in rows}),
        "level": sorted({h["level"] for h in rows if h["level"]}),
        "status": sorted({h["status"] for h in rows if h["status"]}),
        "overdue": ["是", "否"],
        "due": [DUE, OVERDUE],
        "week": sorted({h["first_week"] for h in rows}, reverse=True),
    }
    picks = {
        "zone": lambda h, v: h["zone"] == v,
        "owner": lambda h, v: h["section_owner"] == v,
        "level": lambda h, v: h["level"] == v,
        "status": lambda h, v: h["status"] == v,
        "overdue": lambda h, v: h["overdue"] == (v == "是"),
        "due": lambda h, v: h.get("warning") == v,
        "week": lambda h, v: h["first_week"] == v,
    }
    for key, value in chosen.items():
        if value:
            rows = [h for h in rows if picks[key](h, value)]
    return {"rows": rows, "options": options, "chosen": chosen, "days": days}


def filters_text(chosen: dict[str, str]) -> str:
    names = {"zone": "片区", "owner": "包校责任人", "level": "等级", "status": "状态", "overdue": "逾期",
             "due": "到期预警", "week": "首报周次"}
    return "，".join(f"{names[k]}={v}" for k, v in chosen.items() if v)


def reports_page(paths: Paths, settings: Settings, user: User) -> list[dict]:
    """周报: every week's revisions (newest first) with the workbooks this user may download; stale weeks
    flagged (status.stale_reports)."""
    stale = {s["week"]: s for s in stale_reports(paths, settings)}
    weeks: dict[str, dict] = {}
    for rev in report_revisions(paths.root, settings):
        manifest = read_manifest(paths, rev["path"])
        outputs = report_outputs(manifest) if manifest else []
        if user.limited:  # whole-district workbooks only for those who see every school
            outputs = [o for o in outputs if o["zone"] and (not user.zones or o["zone"] in user.zones)
                       and not user.owner]
        week = weeks.setdefault(rev["week"], {"week": rev["week"], "revisions": [], "stale": stale.get(rev["week"])})
        week["revisions"].append({**rev, "generated_text": rev["generated_at"][:16].replace("T", " "),
                                  "outputs": outputs})
    return list(weeks.values())


def read_manifest(paths: Paths, folder: str) -> dict | None:
    path = paths.root / folder / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def inside(root: Path, relative: str) -> Path | None:
    """A path the record names, relative to the data root, if it stays inside it and is a file."""
    base = root.resolve()
    path = (base / relative).resolve()
    return path if path.is_relative_to(base) and path.is_file() else None


def unsent_rows(rows: list[dict], settings: Settings) -> list[dict]:
    """report.status.unsent_mail's rows with `tried`: the last try in local time (YYYY-MM-DD HH:MM)."""
    def local(text: str | None) -> str:
        if not text:
            return ""
        moment = dt.datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return f"{moment.astimezone(settings.tz):%Y-%m-%d %H:%M}"

    return [{**m, "tried": local(m["last_tried_at"])} for m in rows]
