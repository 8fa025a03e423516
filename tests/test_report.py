"""The report: workbooks read back equal manifest.json; revisions; atomic folders; real office program opens them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess

import openpyxl
import pytest

from inspect_pipeline.report.figures import STAGES
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.report.build import build_report
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.report.templates import write_templates
from inspect_pipeline.report.workbooks import layout
from support import drop, hazard, intake, school_book
from test_figures import build

AFTER_CUTOFF = dt.datetime.fromisoformat("2023-11-24T16:00:00+08:00")


def report(root, week="2023-W47", now=AFTER_CUTOFF):
    settings = load_settings(root)
    return build_report(Paths.at(root, settings), settings, week, now)


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return build(tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def first(district):
    return report(district)


def values(path, sheet):
    return [list(r) for r in openpyxl.load_workbook(path, data_only=True)[sheet].iter_rows(values_only=True)]


def figures_row(row: list, left: int, columns: list[dict]) -> dict:
    return {c["key"]: row[left + i] for i, c in enumerate(columns)}


def same(block_from_book: dict, block: dict) -> bool:
    return all(
        (block[k] is None and v is None) or v == pytest.approx(block[k]) for k, v in block_from_book.items()
    )


def test_safety_committee_workbook_equals_the_manifest(district, first):
    m = first.manifest
    book = district / m["outputs"]["safety_committee"]
    cols = layout()["safety_committee"]["columns"]
    summary = values(book, "汇总")
    assert summary[4][0] == "本周" and same(figures_row(summary[4], 1, cols), m["totals"]["week"])
    assert summary[5][0] == "累计" and same(figures_row(summary[5], 1, cols), m["totals"]["cumulative"])
    zones = values(book, "分片区")
    for block, label in (("week", "本周"), ("cumulative", "累计")):
        top = next(i for i, r in enumerate(zones) if r[0] == f"片区（{label}）")
        rows = zones[top + 2: top + 2 + len(m["by_zone"])]
        for row, zone in zip(rows, m["by_zone"], strict=True):
            assert row[0] == zone["zone"] and row[1] == zone["zone_leader"]
            assert same(figures_row(row, 2, cols), zone[block])
        total = zones[top + 2 + len(m["by_zone"])]
        assert total[0] == "合计" and same(figures_row(total, 2, cols), m["totals"][block])
    majors = values(book, "重大隐患清单")
    assert [r[4] for r in majors[3:]] == ["锅炉房压力表失灵", "实验室危化品柜未上锁"]  # B and D, open 重大
    missing = values(book, "未报单位")
    assert missing[3][0] == "（无）"
    assert openpyxl.load_workbook(book).sheetnames == ["汇总", "分片区", "重大隐患清单", "未报单位", "图表", "说明", "输入文件"]


def test_city_bureau_workbook_equals_the_manifest(district, first):
    m = first.manifest
    book = district / m["outputs"]["city_bureau"]
    cols = layout()["city_bureau"]["columns"]
    rows = values(book, "分学段")
    stages = {s["stage"]: s for s in m["by_stage"]}
    for i, stage in enumerate(STAGES):
        row = rows[4 + i]
        assert row[0] == stage
        for b, block in enumerate(("week", "cumulative")):
            got = [row[1 + b * len(cols) + j] for j in range(len(cols))]
            want = [stages[stage][block][c["key"]] for c in cols]
            assert got == pytest.approx(want) or [g if w is not None else None for g, w in zip(got, want)] == got
    total = rows[4 + len(STAGES)]
    assert total[0] == "合计"
    assert [total[1 + j] for j in range(len(cols))] == pytest.approx(
        [m["totals"]["week"][c["key"]] for c in cols], nan_ok=True)
    listed = values(book, "重大及逾期隐患")
    assert sorted(r[4] for r in listed[3:]) == sorted(["锅炉房压力表失灵", "实验室危化品柜未上锁", "校门口减速带损坏"])


def test_zone_report_and_extracts(district, first):
    m = first.manifest
    zone_rows = values(district / m["outputs"]["zone_report"], "一片")
    end = next(i for i, r in enumerate(zone_rows) if r[0] == "一片合计")
    schools = {r[0]: r for r in zone_rows[3:end] if r[0] and not str(r[0]).startswith("小计")}
    assert schools["丰润区第一实验小学"][4] == "按时" and schools["丰润区第一实验小学"][6] == 1  # D new
    assert schools["丰润区第三幼儿园"][8] == 1  # E rectified this week
    assert sum(s[6] for s in schools.values()) == 2  # 本周新增: D and E
    assert set(m["outputs"]["zone_extracts"]) == {"一片", "二片"}
    extract = openpyxl.load_workbook(district / m["outputs"]["zone_extracts"]["二片"])
    assert extract.sheetnames == ["二片", "说明", "输入文件"]
    listed = {r[1] for r in values(district / m["outputs"]["zone_extracts"]["二片"], "输入文件")[1:]}
    whole = {r[1] for r in values(district / m["outputs"]["zone_report"], "输入文件")[1:]}
    assert listed == {"丰润区银城铺镇中学"} and listed < whole  # an extract lists only its zone's files


def test_manifest_keys_and_provenance(district, first):
    m = first.manifest
    assert list(m) == ["week", "cutoff", "revision", "generated_at", "software_version", "outputs", "files",
                       "totals", "by_zone", "by_stage", "missing_units"]
    assert m["revision"] == 1 and m["generated_at"] == "2023-11-24T16:00:00+08:00"
    on_disk = json.loads((first.folder / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == m
    files = values(district / m["outputs"]["safety_committee"], "输入文件")
    assert files[0] == ["文件", "学校", "收到时间", "结果", "SHA-256"]
    assert {r[4].replace("\n", "") for r in files[1:]} == {f["sha256"] for f in m["files"]}
    explain = {r[0]: r[1] for r in values(district / m["outputs"]["safety_committee"], "说明") if r[0]}
    digest = hashlib.sha256("".join(sorted(f["sha256"] for f in m["files"])).encode()).hexdigest()
    assert explain["输入校验值"].endswith(digest)
    assert explain["周次"] == "2023年第47周（11月18日—11月24日）"
    assert "单位·周" in explain["累计"] and "本周完成整改" in explain


def test_revisions_are_new_folders_and_unchanged_weeks_are_not_rewritten(tmp_path):
    root = build(tmp_path)
    r1 = report(root)
    assert report(root, now=AFTER_CUTOFF + dt.timedelta(hours=1)).written is False
    drop(root, "银中/补充.xlsx", school_book(unit="银中", rows=[hazard("食堂排烟罩油污", found=dt.datetime(2023, 11, 22))]))
    intake(root, AFTER_CUTOFF + dt.timedelta(hours=2))  # a late file for W47
    r2 = report(root, now=AFTER_CUTOFF + dt.timedelta(hours=3))
    assert (r2.revision, r2.written) == (2, True) and r1.folder.is_dir() and r2.folder.name == "r2"
    assert json.loads((r1.folder / "manifest.json").read_text(encoding="utf-8"))["revision"] == 1
    assert r2.manifest["totals"]["week"]["found"] == r1.manifest["totals"]["week"]["found"]  # superseded, same F
    assert not list((root / "reports" / "2023-W47").glob(".building-*"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice")
def test_every_kind_of_workbook_opens_in_libreoffice(district, first, tmp_path):
    m = first.manifest
    kinds = [district / m["outputs"][k] for k in ("safety_committee", "city_bureau", "zone_report")]
    kinds.append(district / next(iter(m["outputs"]["zone_extracts"].values())))
    kinds += [next((district / "receipts").rglob("*回执.xlsx"))]
    settings = load_settings(district)
    kinds += write_templates(Paths.at(district, settings), settings, "2023-W48", "2113000001")  # pre-filled
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--convert-to", "pdf",
         "--outdir", str(tmp_path / "pdf"), *map(str, kinds)],
        check=True, capture_output=True, timeout=300,
    )
    for path in kinds:
        pdf = (tmp_path / "pdf" / path.name).with_suffix(".pdf")
        pages = re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes())
        assert len(pages) >= 1, path.name


def test_the_trend_ends_at_the_cumulative_rate(district, first):
    chart = values(district / first.manifest["outputs"]["safety_committee"], "图表")
    top = next(i for i, r in enumerate(chart) if r[0] == "周次")
    points = [(r[0], r[1]) for r in chart[top + 1:] if r[0]]
    assert [w for w, _ in points] == ["2023-W46", "2023-W47"]
    assert points[0][1] == pytest.approx(1 / 4)  # W46: C rectified of A B C G
    assert points[-1][1] == pytest.approx(first.manifest["totals"]["cumulative"]["rectification_rate"])


def test_the_zone_report_lists_hazards_a_school_dropped(district, first):
    rows = values(district / first.manifest["outputs"]["zone_report"], "一片")
    title = next(i for i, r in enumerate(rows) if r[0] == "本周表中未列出、仍未整改的隐患")
    listed = [r for r in rows[title + 2:] if r[0]]
    assert [(r[0], r[3], r[4], r[5], r[6]) for r in listed] == [
        ("丰润区第一实验小学", "围墙裂缝", "未整改", "2023-W46", 11)]  # G: found 11-13, cutoff 11-24
