"""Text folding, enums, dates and amounts (submission.md §Values), incl. Hypothesis properties."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inspect_pipeline.core.contracts import enums
from inspect_pipeline.read.normalize import as_text, fold, match_enum, parse_amount, parse_count, parse_date, squash

dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31))
FULLWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}


# ---------------------------------------------------------------- text


@given(st.text())
def test_fold_is_idempotent(text):
    assert fold(fold(text)) == fold(text)


@given(st.text(alphabet=st.sampled_from(sorted(FULLWIDTH) + ["\u3000", "\u00a0", "\n", "a", "中"])))
def test_fold_leaves_no_fullwidth_ascii_or_odd_spaces(text):
    out = fold(text)
    assert not any(ch in FULLWIDTH or ch in "\u3000\u00a0\n\t" for ch in out)
    assert "  " not in out and out == out.strip()


@given(st.text(alphabet="ＡＢＣ１２３（）：", min_size=1))
def test_fold_maps_fullwidth_to_halfwidth(text):
    assert fold(text) == "".join(FULLWIDTH[c] for c in text).strip().lstrip("'").strip()


def test_fold_examples():
    assert fold("  ＸＦ　消防\n器材 ") == "XF 消防 器材"  # U+3000 and a line break become single spaces
    assert fold("'2113000001") == "2113000001"  # a leading apostrophe (Excel's text marker) is dropped
    assert squash("隐患\n等级（一般/重大）") == "隐患等级(一般/重大)"


@pytest.mark.parametrize("token", ["无", "/", "—", "-", "－", "空", "暂无", "N/A", " 无 ", "／"])
def test_blank_tokens_read_as_empty(token):
    assert as_text(token) is None


def test_as_text_of_numbers_and_dates():
    assert as_text(3.0) == "3" and as_text(0.5) == "0.5"
    assert as_text(dt.datetime(2023, 11, 24)) == "2023-11-24"


# ---------------------------------------------------------------- enums


@pytest.mark.parametrize(
    ("enum", "written", "canonical"),
    [
        ("status", "完成", "已整改"),  # a synonym
        ("status", "√", "已整改"),
        ("status", "已验收", "已销号"),
        ("status", "待整改", "未整改"),
        ("status", "正在整改", "整改中"),
        ("level", "重大事故隐患", "重大"),
        ("level", "一般（隐患）", "一般"),  # trailing bracketed part removed
        ("category", "消防器材", "消防安全"),
        ("category", "xf", "消防安全"),  # the two-letter code
        ("category", "食堂问题", "食品安全"),  # trailing 问题 removed
        ("category", "ＹＤ", "用电安全"),  # full-width code
        ("source", "包片包校督查", "包片包校督查"),
        ("mode", "即查即改", "立即整改"),
    ],
)
def test_enum_synonyms(enum, written, canonical):
    assert match_enum(written, enums()[enum]) == canonical


@pytest.mark.parametrize(("enum", "written"), [("category", "消防、用电"), ("level", "较大"), ("status", "搁置"), ("level", "III级")])
def test_enum_rejects(enum, written):
    assert match_enum(written, enums()[enum]) is None


@given(st.sampled_from(["status", "level", "category", "source", "mode"]), st.data())
def test_every_synonym_folds_to_its_value(enum, data):
    spec = enums()[enum]
    synonym = data.draw(st.sampled_from(sorted(spec.synonyms)))
    padded = data.draw(st.sampled_from(["{}", " {} ", "{}\u3000", "\n{}"])).format(synonym)
    assert match_enum(padded, spec) == spec.synonyms[synonym]


# ---------------------------------------------------------------- dates


@given(dates)
def test_full_dates_in_every_written_form(d):
    ref = dt.date(2023, 11, 24)
    forms = [
        d.isoformat(),
        f"{d.year}/{d.month}/{d.day}",
        f"{d.year}.{d.month:02d}.{d.day:02d}",
        f"{d.year}年{d.month}月{d.day}日",
        d.strftime("%Y%m%d"),
        int(d.strftime("%Y%m%d")),  # the number Excel makes of 20231124
        (d - dt.date(1899, 12, 30)).days,  # an Excel serial
        dt.datetime.combine(d, dt.time(9, 30)),
        d,
    ]
    for form in forms:
        read = parse_date(form, ref)
        assert read.ok and read.value == d, form


@given(dates, dates)
def test_yearless_found_dates_take_the_latest_year_not_after_the_cutoff(d, ref):
    if (d.month, d.day) == (2, 29):
        return
    for form in (f"{d.month}月{d.day}日", f"{d.month}.{d.day}", f"{d.month}-{d.day}"):
        read = parse_date(form, ref, "upto")
        assert read.ok
        assert (read.value.month, read.value.day) == (d.month, d.day)
        assert read.value <= ref < read.value.replace(year=read.value.year + 1)


@given(dates, dates)
def test_yearless_deadlines_take_the_earliest_year_not_before_found(d, found):
    if (d.month, d.day) == (2, 29):
        return
    read = parse_date(f"{d.month}.{d.day}", found, "from")
    assert read.ok and (read.value.month, read.value.day) == (d.month, d.day)
    assert read.value >= found > read.value.replace(year=read.value.year - 1)


def test_year_rule_examples():
    assert parse_date("12.29", dt.date(2024, 1, 5)).value == dt.date(2023, 12, 29)  # early January: last year
    assert parse_date("3.1", dt.date(2023, 11, 20), "from").value == dt.date(2024, 3, 1)  # next March


def test_excel_number_from_month_dot_day():
    three = parse_date(11.3, dt.date(2023, 11, 24))
    assert three.value == dt.date(2023, 11, 3) and three.ambiguous_as == "11月3日"  # 11.30 → 11.3: warn
    assert parse_date(11.24, dt.date(2023, 11, 24)).ambiguous_as is None
    assert parse_date(10.7, dt.date(2023, 11, 24)).ambiguous_as == "10月7日"  # the shape of a dropped zero


@pytest.mark.parametrize("text", ["本周内", "长期", "11月底前", "2023-13-01", "2023-02-30", "下周", True, 11])
def test_not_dates(text):
    assert not parse_date(text, dt.date(2023, 11, 24)).ok


@given(st.text(max_size=12))
def test_parse_date_never_raises(text):
    read = parse_date(text, dt.date(2023, 11, 24))
    assert read.ok or read.value is None


# ---------------------------------------------------------------- amounts and counts


def test_amounts():
    assert parse_amount("5000元", False) == (0.5, True)
    assert parse_amount(5000, True) == (0.5, True)  # header in 元
    assert parse_amount("0.3万元", True) == (0.3, True)  # the value's unit wins
    assert parse_amount("五千", False) == (None, False)
    assert parse_amount(-1, False) == (None, False)
    assert parse_amount("无", False) == (None, True)


def test_counts():
    assert parse_count("3次") == (3, True)
    assert parse_count(4.0) == (4, True)
    assert parse_count("三次") == (None, False)
