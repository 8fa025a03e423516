"""Every kind of workbook the pipeline writes, declared once. A writer names its kind when it opens a book (it is
stored in the file's properties), and the output scan in the tests checks that the demo writes every kind here,
so a new writer cannot escape the checks for `nan`, error cells and print quality."""

from __future__ import annotations

KINDS: dict[str, str] = {
    "safety-committee": "区安委办周报表",
    "city-bureau": "市教育局周报表",
    "zone-report": "包片包校情况",
    "zone-extract": "包片包校情况（片区分表）",
    "receipt-accepted": "回执（已受理）",
    "receipt-returned": "回执（退回的原表，带标注）",
    "receipt-explained": "回执（问题清单）",
    "template-blank": "空白模板",
    "template-prefilled": "预填模板",
    "reminders": "催报提醒",
    "deadline-warnings": "整改到期预警",
    "roster-template": "学校名单模板",
    "ledger-export": "隐患台账（网页导出）",
}
PROPERTY = "category"  # the workbook property that carries the kind


def check(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown workbook kind {kind!r}: declare it in write/kinds.py")
    return kind
