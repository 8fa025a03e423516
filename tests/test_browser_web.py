"""The web page in a real browser (Debian chromium, Selenium): on a generated district, 本周 lists a school as 未报;
its link opens the school's page; a file uploaded for it through 代报上传 and taken by 立即收件 moves it from 未报 to
已报. Screenshots of each page are saved (tests/artifacts/browser/, or $INSPECT_ARTIFACTS)."""

from __future__ import annotations

import functools
import time

import pytest
from browser import capture_on_failure, chrome, needs_browser, screenshot, serve_app, wait_for_id, wait_for_text, wait_for_url
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from support import NOW, drop, hazard, intake, make_root, school_book

pytestmark = [pytest.mark.slow, needs_browser]

MISSING = "丰润区银城铺镇中学"  # the roster's third school: sends nothing until the clerk uploads for it


@pytest.fixture
def district(tmp_path):
    root = make_root(tmp_path)
    drop(root, "一实小/第47周.xlsx", school_book(rows=[hazard()]))
    drop(root, "三幼/第47周.xlsx", school_book(unit="丰润区第三幼儿园", rows=[hazard("电线裸露")]))
    intake(root, NOW)
    return root


def missing_names(driver) -> list[str]:
    return [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#missing-list a.school")]


def test_a_clerk_uploads_for_a_school_and_takes_the_inbox(district, tmp_path):
    from inspect_pipeline.web.app import create_app

    upload = tmp_path / "银中-第47周.xlsx"
    upload.write_bytes(school_book(unit=MISSING, rows=[hazard("食堂排烟罩油污")]))
    with serve_app(functools.partial(create_app, district, now=NOW), factory=True) as base, chrome() as driver:
        with capture_on_failure(driver, "web-week"):
            driver.get(base + "/")
            wait_for_id(driver, "missing-list")
            assert missing_names(driver) == [MISSING]
            assert "已报" in driver.find_element(By.ID, "zone-table").text
            screenshot(driver, "web-week")

            driver.find_element(By.LINK_TEXT, MISSING).click()
            wait_for_url(driver, "/school/")
            wait_for_text(driver, MISSING)
            screenshot(driver, "web-school")

            driver.get(base + "/")
            form = wait_for_id(driver, "upload-form")
            school_id = driver.find_element(By.LINK_TEXT, MISSING).get_attribute("data-school-id")
            Select(form.find_element(By.NAME, "school_id")).select_by_value(school_id)
            form.find_element(By.NAME, "file").send_keys(str(upload))
            form.find_element(By.NAME, "note").send_keys("11:50 邮件收到")
            driver.find_element(By.ID, "upload-submit").click()
            wait_for_id(driver, "flash")
            assert "银中-第47周.xlsx" in driver.find_element(By.ID, "flash").text
            screenshot(driver, "web-uploaded")
            assert MISSING in missing_names(driver)  # in the inbox, not yet taken: still 未报

            time.sleep(1.2)  # the inbox takes a file once it has been still for quiet_seconds (1 s here)
            driver.find_element(By.ID, "intake-now").click()
            wait_for_id(driver, "flash")
            wait_for_id(driver, "missing-list")
            assert missing_names(driver) == []
            screenshot(driver, "web-after-intake")


def test_the_week_page_at_phone_width_and_printed_on_a4(district, tmp_path):
    """At a phone's width nothing scrolls sideways; printed (chromium's own print to PDF, A4), the zone table is
    on the first page."""
    import base64
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.skip("needs poppler-utils' pdftotext (.ci/run installs it)")

    from inspect_pipeline.web.app import create_app
    from selenium.webdriver.common.print_page_options import PrintOptions

    with serve_app(functools.partial(create_app, district, now=NOW), factory=True) as base, \
            chrome(window=(390, 844)) as driver:
        driver.get(base + "/")
        wait_for_id(driver, "zone-table")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        screenshot(driver, "web-week-phone")
        options = PrintOptions()
        options.page_width, options.page_height = 21.0, 29.7  # A4, in cm
        pdf = tmp_path / "week.pdf"
        pdf.write_bytes(base64.b64decode(driver.print_page(options)))
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert all(word in first for word in ("一片", "二片", "合计", "应报", "已报"))
