"""What a received file really is, judged from its bytes (the extension is whatever the school typed)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from itertools import islice
from pathlib import PurePath

import olefile

from ..core.settings import Limits
from .grid import DAMAGED, FileRefused

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
# members that make calamine take a zip for xlsb, or for an OOXML package, before it tries ods (lower case)
XLSB_PARTS = frozenset({"xl/workbook.bin", "xl/_rels/workbook.bin.rels"})
OOXML_PARTS = frozenset({"_rels/.rels", "[content_types].xml"}) | XLSB_PARTS
BIFF_BOF, BIFF_EOF, BIFF_FILEPASS = 0x0809, 0x000A, 0x002F

HTML = "网页文件（HTML），不是真正的 Excel 文件"
LINK = "链接（快捷方式），不是文件本身"
# a Windows shell link (.lnk): header size 0x4C, then the LinkCLSID {00021401-0000-0000-C000-000000000046}
LNK_MAGIC = b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F"
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
WEB_PAGE_MARKER = re.compile(rb"<(?:html|table)[\s>]|urn:schemas-microsoft-com:office:spreadsheet")


def detect_format(data: bytes, file_name: str, limits: Limits) -> str:
    """Return xlsx, xlsm, xls, ods or csv for a readable workbook; raise FileRefused for anything else."""
    if not data:
        raise FileRefused("unreadable-file", "文件为空（0 字节）")
    if len(data) > limits.max_file_bytes:
        raise FileRefused("unreadable-file", f"文件过大（超过 {limits.max_file_mb:g} MB）")
    if PurePath(file_name).suffix.lower() in (".et", ".ett"):
        # WPS's own format: WPS can save it as .xlsx, and the spec lists .et as unsupported
        raise FileRefused("unsupported-format", "WPS 表格格式（.et）")
    if data.startswith(ZIP_MAGIC):
        return _zip_format(data, limits)
    if data.startswith(OLE_MAGIC):
        return _ole_format(data)
    if data.startswith(LNK_MAGIC):
        raise FileRefused("unsupported-format", LINK)
    if data.startswith(b"%PDF"):
        raise FileRefused("unsupported-format", "PDF 文件")
    if data.startswith(IMAGE_MAGIC) or _is_bmp_or_webp(data):
        raise FileRefused("unsupported-format", "图片")
    if _is_web_page(data[:2048]):
        raise FileRefused("unsupported-format", HTML)
    if b"\x00" not in data and _decodes(data):
        return "csv"
    raise FileRefused("unsupported-format", "无法识别的文件类型")


def _zip_format(data: bytes, limits: Limits) -> str:
    """Return xlsx, xlsm or ods for a zip; checks the sizes in the zip directory before any member is read, and
    refuses a zip calamine could read as another format than the one checked (it tries xlsx, xlsb, then ods)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            names = {info.filename for info in infos}
            unpacked = sum(info.file_size for info in infos)
            packed = sum(info.compress_size for info in infos)
            if unpacked > limits.max_uncompressed_bytes:
                raise FileRefused("unreadable-file", f"解压后超过 {limits.max_uncompressed_mb:g} MB")
            if unpacked > 1024 * 1024 and unpacked > limits.max_compression_ratio * max(packed, 1):
                raise FileRefused("unreadable-file", f"压缩比异常（超过 {limits.max_compression_ratio:g} 倍）")
            # calamine finds members without regard to case: two names it cannot tell apart are a forgery
            folded = {name.replace("\\", "/").lower() for name in names}
            if len(folded) < len(infos):
                raise FileRefused("unreadable-file", DAMAGED)
            if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
                if "mimetype" in names or not folded.isdisjoint(XLSB_PARTS):
                    raise FileRefused("unreadable-file", DAMAGED)
                macros = "xl/vbaProject.bin" in names or b"macroenabled" in zf.read("[Content_Types].xml").lower()
                return "xlsm" if macros else "xlsx"
            if "mimetype" in names and zf.read("mimetype").strip() == ODS_MIMETYPE:
                if not folded.isdisjoint(OOXML_PARTS):
                    raise FileRefused("unreadable-file", DAMAGED)
                if "META-INF/manifest.xml" in names and b"encryption-data" in zf.read("META-INF/manifest.xml"):
                    raise FileRefused("password-protected", "设置了密码的 ODS 表格")
                return "ods"
    # RuntimeError: a member flagged encrypted, which no spreadsheet writer does (damage)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zlib.error):
        raise FileRefused("unreadable-file", DAMAGED) from None
    if "xl/workbook.bin" in names:
        raise FileRefused("unsupported-format", "Excel 二进制工作簿（.xlsb）")
    if any(name.startswith("word/") for name in names):
        raise FileRefused("unsupported-format", "Word 文档（.docx）")
    if any(name.startswith("ppt/") for name in names):
        raise FileRefused("unsupported-format", "PowerPoint 演示文稿（.pptx）")
    if "mimetype" in names:
        raise FileRefused("unsupported-format", "OpenDocument 文档，不是表格")
    raise FileRefused("unsupported-format", "压缩包")


def _ole_format(data: bytes) -> str:
    """Return xls for an OLE2 file holding a workbook stream; refuse encrypted and other Office files."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            streams = {"/".join(path).lower() for path in ole.listdir()}
            if "encryptioninfo" in streams or "encryptedpackage" in streams:
                raise FileRefused("password-protected", "设置了密码的 Excel 文件")
            book = next((name for name in ("workbook", "book") if name in streams), None)
            stream = ole.openstream(book).read() if book else b""
    except (OSError, ValueError, struct.error, IndexError, OverflowError):  # olefile's errors for broken containers
        raise FileRefused("unreadable-file", DAMAGED) from None
    if book:
        # Excel writes FILEPASS right after the globals' BOF; everything after it is RC4/XOR-encrypted
        if any(kind == BIFF_FILEPASS for kind, _ in islice(biff_records(stream), 8)):
            raise FileRefused("password-protected", "设置了密码的 Excel 文件")
        return "xls"
    if "worddocument" in streams:
        raise FileRefused("unsupported-format", "Word 文档（.doc）")
    if "powerpoint document" in streams:
        raise FileRefused("unsupported-format", "PowerPoint 演示文稿（.ppt）")
    raise FileRefused("unsupported-format", "不是 Excel 表格的 Office 文件")


def biff_records(stream: bytes, start: int = 0) -> Iterator[tuple[int, memoryview]]:
    """Yield (record type, body) of the BIFF records from `start` up to the end of the substream (EOF record)."""
    view = memoryview(stream)
    pos = start
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        yield kind, view[pos + 4 : pos + 4 + size]
        if kind == BIFF_EOF:
            return
        pos += 4 + size


def biff_substream(stream: bytes, start: int) -> Iterator[tuple[int, memoryview]]:
    """Yield (record type, body) of the substream starting at `start` (a sheet's BOF) up to its EOF, skipping the
    substreams nested in it (embedded charts: BOF ... EOF), as calamine does."""
    seen_bof, depth = False, 0
    view = memoryview(stream)
    pos = start
    while pos + 4 <= len(stream):
        kind, size = struct.unpack_from("<HH", stream, pos)
        pos += 4 + size
        if depth:
            depth += 1 if kind == BIFF_BOF else -1 if kind == BIFF_EOF else 0
            continue
        if kind == BIFF_BOF and seen_bof:
            depth = 1
            continue
        seen_bof = seen_bof or kind == BIFF_BOF
        yield kind, view[pos - size : pos]
        if kind == BIFF_EOF:
            return


def _is_bmp_or_webp(data: bytes) -> bool:
    """Return whether the bytes start like a BMP or WEBP image (a bare "BM" could begin a CSV)."""
    return (data[:2] == b"BM" and data[6:10] == b"\0\0\0\0") or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _is_web_page(head: bytes) -> bool:
    """Return whether the file starts like an HTML page, MHT archive or SpreadsheetML 2003 (all sold as .xls)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", "ignore").encode("utf-8")
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith((b"<!doctype html", b"mime-version:")):
        return True
    return text.startswith(b"<") and WEB_PAGE_MARKER.search(text) is not None


def _decodes(data: bytes) -> bool:
    """Return whether the bytes are UTF-8 or GB18030 text."""
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
            return True
        except UnicodeDecodeError:
            pass
    return False
