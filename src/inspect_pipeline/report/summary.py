"""What the clerk sees without opening a file: the week's status table per zone, a short markdown summary of
a report, and the table of an intake run's files. Plain data (lists of dicts, text) for any front end — the
Prefect flows publish them as artifacts; nothing here knows about Prefect."""

from __future__ import annotations

from collections import Counter

from .listings import REPORT_STATUS

OUTCOME_TITLES = {"accepted": "已受理", "rejected": "退回重报", "duplicate": "重复报送", "superseded": "被替换"}
OUTPUT_TITLES = {"safety_committee": "区安委办周报表", "city_bureau": "市教育局周报表", "zone_report": "包片包校情况"}


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def zone_table(manifest: dict, missing: list[dict]) -> list[dict]:
    """One row per 片区 and a 合计 row: reporting status (due … rejected-not-resubmitted) and the week's figures.
    `missing`: the report's units not reported with their status (ReportResult.missing)."""
    rejected = Counter(u["zone"] for u in missing if u["status"] == REPORT_STATUS["rejected"])
    rejected["合计"] = sum(rejected.values())
    blocks = [(z["zone"], z.get("zone_leader", ""), z["week"]) for z in manifest["by_zone"]]
    blocks.append(("合计", "", manifest["totals"]["week"]))
    return [
        {
            "片区": zone, "包片领导": leader, "应报": w["due"], "已报": w["received"], "按时": w["on_time"],
            "迟报": w["late"], "未报": w["missing"], "退回未重报": rejected.get(zone, 0), "发现隐患": w["found"],
            "其中重大": w["found_major"], "已整改": w["rectified"], "整改率": _percent(w["rectification_rate"]),
            "逾期": w["overdue"],
        }
        for zone, leader, w in blocks
    ]


def report_outputs(manifest: dict) -> list[dict]:
    """A revision's workbooks as (key, title, path relative to the data root, zone): keys name no file and no
    person (`zone-3` for the third zone extract), so they can stand in a web address."""
    outputs = manifest.get("outputs", {})
    found = [{"key": k, "title": t, "path": outputs[k], "zone": None} for k, t in OUTPUT_TITLES.items() if k in outputs]
    for i, (zone, path) in enumerate(sorted(outputs.get("zone_extracts", {}).items()), 1):
        found.append({"key": f"zone-{i}", "title": f"包片包校情况（{zone}）", "path": path, "zone": zone})
    return found


def web_links(base_url: str, report_id: int | None, manifest: dict) -> list[tuple[str, str]]:
    """(title, http address on the web page) of the week's status, its revisions and each workbook of this one:
    what a run summary links to (a file:// link means nothing on another PC, and browsers block it)."""
    base = base_url.rstrip("/")
    links = [(f"{manifest['week']} 报送情况", f"{base}/?week={manifest['week']}"), ("各周报表", f"{base}/reports")]
    if report_id is not None:
        links += [(o["title"], f"{base}/download/report/{report_id}/{o['key']}") for o in report_outputs(manifest)]
    return links


def report_markdown(manifest: dict, majors: list[dict], links: list[tuple[str, str]]) -> str:
    """The report run in a few lines: headline figures, missing units, open 重大 hazards, overdue, the outputs
    (`links`: title and address on the web page, web_links)."""
    week, total = manifest["totals"]["week"], manifest["totals"]["cumulative"]
    lines = [
        f"# {manifest['week']} 安全隐患排查整治周报（第 {manifest['revision']} 版）",
        "",
        f"截止时间 {manifest['cutoff']}，生成于 {manifest['generated_at']}。",
        "",
        f"- 报送：应报 {week['due']}，已报 {week['received']}（迟报 {week['late']}），未报 {week['missing']}",
        f"- 本周发现隐患 {week['found']} 处（重大 {week['found_major']}），已整改 {week['rectified']}，"
        f"整改率 {_percent(week['rectification_rate'])}",
        f"- 累计发现 {total['found']} 处，已整改 {total['rectified']}，整改率 {_percent(total['rectification_rate'])}",
        f"- 逾期未整改 {week['overdue']} 处；未整改重大隐患 {len(majors)} 处",
        "",
        f"## 未报单位（{len(manifest['missing_units'])}）",
        "",
    ]
    lines += [f"- {u['zone']} · {u['school_name']}（包校责任人 {u['section_owner']}）" for u in manifest["missing_units"]]
    lines += ["" if manifest["missing_units"] else "无", "", f"## 未整改重大隐患（{len(majors)}）", ""]
    lines += [
        f"- {h.get('zone', '')} · {h.get('school_name', '')}：{h.get('location') or ''} {h.get('description') or ''}"
        f"（{h.get('code', '')}，逾期：{h.get('overdue', '否')}）"
        for h in majors
    ]
    lines += ["" if majors else "无", "", "## 报表文件（工作台）", ""]
    lines += [f"- [{title}]({url})" for title, url in links]
    return "\n".join(lines) + "\n"


def intake_table(files: list[dict]) -> list[dict]:
    """The files an intake run took, with outcome and issue counts (records.received_files rows)."""
    return [
        {
            "文件": f["file_name"], "学校": f["school_name"] or "（未识别）", "周次": f["week"],
            "结果": OUTCOME_TITLES.get(f["outcome"], f["outcome"]), "按时/迟报": "按时" if f["on_time"] else "迟报",
            "错误": f["errors"], "提示": f["warnings"],
        }
        for f in files
    ]
