"""Files other than a school's hazard table: zero reports (零报告: a statement row, a statement above the table,
a sheet without table, or nothing said), unreadable files (0-byte or truncated xlsx; PDF or HTML renamed .xls,
.docx, .jpg) and the temp files Excel and LibreOffice leave next to an open workbook.
"""

from __future__ import annotations

import io
import random
import zipfile

from ...core.contracts import submission_columns
from .documents import base_doc
from .hazards import SchoolContext
from .rendering import RowStyle
from .sheets import SheetDoc, TableRow, lay_out
from .week_dates import WeekDates
from .writers import xlsx_bytes


def zero_doc(sc: SchoolContext, wk: WeekDates, rng: random.Random, variant: str) -> tuple[SheetDoc, list[tuple]]:
    doc = base_doc(sc, wk, rng, [], RowStyle())
    warnings: list[tuple] = []
    statement = rng.choice(["本周无隐患", "本周未发现隐患", "无隐患", "零报告", "本周未发现安全隐患"])
    if variant == "row":  # a data row whose description is the statement
        doc.rows = [TableRow({"seq": 1, "description": statement})]
    elif variant == "above":  # a cell saying so above the table
        doc.pre = [statement]
    elif variant == "no_table":  # no hazard table at all, only the statement
        doc.no_table = True
        doc.pre = [statement]
    else:  # "assumed": nothing says so → accepted with a warning
        warnings.append((None, "zero-report-assumed"))
    return doc, warnings


def unreadable_file(rng: random.Random, sc: SchoolContext, wk: WeekDates, variant: str) -> tuple[str, str, bytes, str]:
    """(file name, format, bytes, expected code) of a file that cannot be read as a workbook."""
    if variant == "empty":
        return f"{sc.name}安全隐患周报.xlsx", "xlsx", b"", "unreadable-file"
    if variant == "pdf":
        text = (f"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
                f"% {sc.code} {wk.label}\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
        return f"{sc.name}隐患排查台账.xls", "xls", text.encode("latin-1", "replace"), "unsupported-format"
    if variant == "html":
        cells = "".join(f"<td>{c.header}</td>" for c in submission_columns())
        html = (f'<html xmlns:o="urn:schemas-microsoft-com:office:office" '
                f'xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head><body>'
                f"<table><tr><td>填报单位：{sc.name}</td></tr><tr>{cells}</tr></table></body></html>")
        return "安全隐患排查导出.xls", "xls", html.encode("utf-8"), "unsupported-format"
    if variant == "docx":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in (
                ("[Content_Types].xml",
                 '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                 '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                 'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                 'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                 'wordprocessingml.document.main+xml"/></Types>'),
                ("_rels/.rels",
                 '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
                ("word/document.xml",
                 '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                 f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{sc.name}安全隐患排查情况报告</w:t></w:r>'
                 '</w:p></w:body></w:document>'),
            ):
                z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
        return f"{sc.name}安全隐患排查情况.docx", "docx", buf.getvalue(), "unsupported-format"
    if variant == "jpg":
        body = bytes(rng.randrange(256) for _ in range(600))
        data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + body + b"\xff\xd9"
        return "隐患排查表照片.jpg", "jpg", data, "unsupported-format"
    if variant == "truncated":
        doc = base_doc(sc, wk, rng, [], RowStyle())
        g, _ = lay_out(doc)
        data = xlsx_bytes([g])
        return f"{sc.name}第{wk.num}周周报.xlsx", "xlsx", data[: len(data) // 3], "unreadable-file"
    raise ValueError(variant)  # pragma: no cover


UNREADABLE_VARIANTS = ("empty", "pdf", "html", "truncated", "docx", "jpg")


def temp_file(sc: SchoolContext, real_name: str, variant: str) -> tuple[str, bytes]:
    if variant == "owner":  # Excel's owner file while the workbook is open
        user = "Administrator".encode()
        data = bytes([len(user)]) + user.ljust(53, b" ") + "Administrator".encode("utf-16-le").ljust(108, b"\0")
        return f"~${real_name}", data
    stamp = "20.11.2023 09:15"
    profile = "file:///C:/Users/user/AppData/Roaming/LibreOffice/4"
    text = f"{sc.staff[3]},DESKTOP-7K2P9QF/user,DESKTOP-7K2P9QF,{stamp},{profile};"
    return f".~lock.{real_name}#", text.encode("utf-8")
