"""The config.toml that `init` writes into a new data root (`jobs/setup.py`): every key with its default and a
comment saying what it does, optional ones commented out.
"""

DEFAULT_CONFIG = """\
# inspect-pipeline configuration. Every key is optional; environment variables INSPECT_PIPELINE_<KEY>
# (nested: INSPECT_PIPELINE_LIMITS__MAX_FILE_MB) override this file. A key this version does not know is an
# error (a mistyped name is never ignored). Top-level keys go before the first [table].

config_version = 2             # the layout of this file; written by init, never change it by hand

bureau_name = "区教育局"        # 填报单位 on every report, e.g. "唐山市丰润区教育局"
timezone = "Asia/Shanghai"     # time zone of the cutoff and all time stamps
cutoff_weekday = 5             # ISO weekday of the weekly cutoff: 5 = Friday
cutoff_time = 12:00:00         # local time of the cutoff
# campaign_start = 2023-09-01  # first day of 累计 figures (default: start of the earliest week received)
through_school_stage = "初中"  # stage for 九年一贯制 / 十二年一贯制 / 完全中学
# database_url = "postgresql+psycopg://user@localhost/inspect"   # default: SQLite inspect.db here
# inbox_dir = "//fileserver/share/安全周报"                       # default: inbox/ here
quiet_seconds = 2              # a file still being copied in is left for the next run
lock_timeout_seconds = 300     # a second intake run waits this long for the first
workers = 0                    # worker processes; 0 = one per core
no_report_weeks = []           # weeks in which no one is due (寒暑假), e.g. ["2024-W05"]

[cutoff_overrides]             # a moved cutoff for one week (holidays, 调休)
# "2023-W40" = 2023-10-07T12:00:00

[schedule]                     # when `inspect-pipeline serve` runs each flow, in the time zone above
intake = "*/10 * * * *"        # cron
report_delay_minutes = 30      # the weekly report: this many minutes after each week's cutoff (none in no_report_weeks)
reminder_rounds = ["-1d 15:00", "0d 09:00"]  # days from the cutoff day + time: the day before 15:00, the day itself 9:00

[server]                       # the Prefect server `serve` starts when PREFECT_API_URL is not set
host = "127.0.0.1"             # "0.0.0.0" to open the UI from other PCs of the office
port = 4200                    # UI at http://127.0.0.1:4200

[web]                          # the clerk's web page (工作台): `inspect-pipeline web`, and beside `serve`
host = "127.0.0.1"             # "0.0.0.0" for the office LAN: then users are required (inspect-pipeline web-user add)
port = 8080                    # page at http://127.0.0.1:8080
base_url = ""                  # the address others use, e.g. "http://10.1.2.3:8080" (links in the Prefect UI)

[warnings]                     # 整改到期预警, written with each reminder round
days = 3                       # list open hazards due within this many days (0 = today only), and overdue ones

[signature]                    # under the first table of the 区安委办 and 市教育局 workbooks
preparer = ""                  # 填表人 (empty: a line to sign on)
reviewer = ""                  # 审核人
phone = ""                     # 联系电话
stamp = true                   # print the （盖章） line

[mail]                         # delivery by SMTP; off while host is unset
# host = "smtp.example.gov.cn"
# port = 465
# security = "ssl"             # ssl | starttls | none
# user = "anquan@example.gov.cn"   # the password goes in secrets.toml ([mail] password = "…"), never here
# sender = "anquan@example.gov.cn"
# safety_committee = ["awb@example.gov.cn"]   # 区安委办
# city_bureau = ["shi@example.gov.cn"]        # 市教育局
# zone_report = []                            # the whole 包片包校 report
# receipts = true              # mail receipts to 学校邮箱 (roster)
# reminders = true             # mail reminders and deadline warnings to 责任人邮箱 (roster)

[mail.zone_leaders]            # each 包片领导's zone extract: 片区 (or leader's name) = [addresses]
# "城东片区" = ["leader@example.gov.cn"]

# 企业微信/钉钉 group robots: a table per group; keys only in secrets.toml ([robots.<group>] key, secret)
# [robots.anweiban]            # 区安委办 group: "report ready" with the web page link
# kind = "wecom"               # wecom | dingtalk
# purpose = "reports"          # reports | zone | school
# [robots.yipian]              # a 片区's group: its reminders, 包校责任人 @-mentioned (roster 责任人手机)
# kind = "dingtalk"
# purpose = "zone"
# zone = "一片"
# keyword = "周报"             # 钉钉 keyword mode
# proxy = "http://10.0.0.1:3128"

[limits]
max_file_mb = 20
max_uncompressed_mb = 200
max_compression_ratio = 200
max_cells = 2000000            # cells one sheet may span (values, merged ranges, repeats)
max_text_mb = 50               # millions of characters one file's cells may expand to
max_memory_mb = 1024           # memory for reading one file or writing its receipt
watchdog_seconds = 60          # last resort: reading one file or writing its receipt is stopped after this long
max_rows = 5000                # hazard rows one file may hold
annotate_max_cells = 200000    # larger rejected workbooks get a streamed copy instead of an annotated original
"""
