"""The three deployments `inspect-pipeline serve` runs on their schedules, and the serve loop itself."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from pathlib import Path

from ..core.logs import log_to_file
from ..core.paths import Paths
from ..core.errors import ConfigError
from ..core.schedule import next_fires, report_due
from ..core.settings import CONFIG_FILE_NAME, Settings, load_settings
from .server import LocalServer

log = logging.getLogger(__name__)
TAGS = ["inspect-pipeline"]
PLANNED = "planned"  # the tag of the flow runs the planner schedules (report, reminder rounds)
PLAN_SECONDS = 60  # how often `serve` re-plans (time passes: the next weeks' runs)
WATCH_SECONDS = 2  # how often it looks whether config.toml changed (then it re-plans at once)
PLAN_WEEKS = 2  # how far ahead flow runs are scheduled
LATE_GRACE = dt.timedelta(minutes=10)  # a reminder round later than this (the PC was off) is dropped


def deployments(paths: Paths, settings: Settings) -> list:
    """The deployments (pure objects, no API call): intake on its cron in the settings' time zone — a bare cron
    string would mean UTC —; the weekly report and the reminders without a schedule of their own (the planner
    schedules their flow runs at the times of the calendar, `plan`); the data root as parameter, one run of each at
    a time (later ones queue)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from .intake import intake
    from .reminders import reminders
    from .weekly_report import weekly_report

    tz, params = settings.timezone, {"data_root": str(paths.root)}
    plan = [
        (intake, "intake", [settings.schedule.intake]),
        (weekly_report, "weekly-report", []),
        (reminders, "reminders", []),
    ]
    return [
        flow.to_deployment(
            name=name,
            schedules=[Cron(cron, timezone=tz, slug=f"{name}-{i}") for i, cron in enumerate(crons)],
            parameters=params,
            concurrency_limit=1,
            tags=TAGS,
            entrypoint_type=EntrypointType.MODULE_PATH,  # loaded by import: works from any working directory
        )
        for flow, name, crons in plan
    ]


def _built_weeks(paths: Paths, settings: Settings) -> set[str]:
    from ..record.files import report_revisions

    return {r["week"] for r in report_revisions(paths.root, settings)}


def _utc(moment: dt.datetime) -> dt.datetime:
    """A plain UTC datetime (Prefect may hand back its own datetime subclass), comparable and hashable as one."""
    return dt.datetime.fromtimestamp(moment.timestamp(), dt.timezone.utc)


def plan(data_root, now: dt.datetime | None = None, *, starting: bool = False) -> dict:
    """One tick of the planner: read config.toml afresh and make the scheduled flow runs of `weekly-report` and
    `reminders` match the calendar for the next PLAN_WEEKS weeks (create the missing ones, delete the planned ones
    no longer wanted, e.g. after a cutoff moved). A planned reminder round more than LATE_GRACE late (the PC was
    off) is deleted, not run. The intake deployment's cron follows [schedule] intake. `starting`: also schedule,
    now, the report of a week that fell due while `serve` was not running and was never built (when any report was
    ever built: not on a new installation). Returns what it did: {"created": [...], "deleted": [...],
    "catch_up": [...], "intake": [the new cron, when it changed]}."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterId, FlowRunFilter,
                                                FlowRunFilterState, FlowRunFilterStateType, FlowRunFilterTags)
    from prefect.client.schemas.objects import StateType
    from prefect.states import Scheduled

    settings = load_settings(Path(data_root))
    paths = Paths.at(Path(data_root), settings)
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(settings.tz)
    wanted = {(f.kind, f.week, _utc(f.at)) for f in next_fires(settings, now, PLAN_WEEKS)}
    done: dict[str, list] = {"created": [], "deleted": [], "catch_up": [], "intake": []}
    with get_client(sync_client=True) as client:
        done["intake"] = _follow_intake_cron(client, settings)
        ids = {name: client.read_deployment_by_name(f"{name}/{name}").id for name in ("weekly-report", "reminders")}
        names = {v: k for k, v in ids.items()}
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=list(ids.values()))),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                tags=FlowRunFilterTags(all_=[PLANNED])),
            limit=200,
        )
        have = set()
        for run in runs:
            at = _utc(run.expected_start_time)
            key = (names[run.deployment_id], (run.parameters or {}).get("week"), at)
            late = key[0] == "reminders" and at < now - LATE_GRACE
            if at > now and key not in wanted or late:
                client.delete_flow_run(run.id)
                done["deleted"].append(key)
            else:
                have.add(key)
        params = {"data_root": str(paths.root)}
        for kind, week, at in sorted(wanted - have, key=lambda k: k[2]):
            client.create_flow_run_from_deployment(
                ids[kind], parameters={**params, "week": week}, state=Scheduled(scheduled_time=at), tags=[PLANNED],
                idempotency_key=f"{kind}:{week}:{at.isoformat()}")
            done["created"].append((kind, week, at))
        built = _built_weeks(paths, settings) if starting else set()
        if built:  # a new installation does not build last week's report on its first start
            pending = {k[1] for k in have if k[0] == "weekly-report" and k[2] <= now}
            for week in report_due(settings, now, built | pending):
                client.create_flow_run_from_deployment(ids["weekly-report"], parameters={**params, "week": week},
                                                       tags=[PLANNED, "catch-up"])
                done["catch_up"].append(week)
                log.info("周报 %s 在 serve 未运行时到期且尚未生成：现在补做", week)
    return done


def _follow_intake_cron(client, settings: Settings) -> list[str]:
    """Give the intake deployment's schedule the cron of [schedule] intake (in the settings' time zone) when it
    differs; Prefect drops the runs it had planned by the old one. Returns the cron set, if any."""
    from prefect.client.schemas.schedules import CronSchedule

    wanted = CronSchedule(cron=settings.schedule.intake, timezone=settings.timezone)
    changed = []
    for entry in client.read_deployment_by_name("intake/intake").schedules:
        now = entry.schedule
        if getattr(now, "cron", None) != wanted.cron or getattr(now, "timezone", None) != wanted.timezone:
            client.update_deployment_schedule(entry.deployment_id, entry.id, schedule=wanted)
            log.info("intake schedule now %s (%s)", wanted.cron, wanted.timezone)
            changed.append(wanted.cron)
    return changed


class Planner:
    """The planner beside `serve`'s runner: `plan` once at start (with the catch-up), then every PLAN_SECONDS and
    within WATCH_SECONDS of a change of config.toml, so a change of [schedule], the calendar or the cutoff overrides
    is followed without a restart. A config.toml that cannot be read leaves the last plan in place (logged)."""

    def __init__(self, paths: Paths, seconds: float = PLAN_SECONDS, watch: float = WATCH_SECONDS):
        self.paths, self.seconds, self.watch = paths, seconds, watch
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="planner", daemon=True)

    def tick(self, starting: bool = False) -> dict | None:
        try:
            return plan(self.paths.root, starting=starting)
        except ConfigError as exc:
            log.error("计划未更新（沿用上次的计划）：%s", exc)
        except Exception:  # noqa: BLE001 - the server restarting, a transient API error: try again next tick
            log.exception("计划未更新（下次再试）")
        return None

    def start(self) -> None:
        self.thread.start()

    def _stamp(self) -> tuple:
        config = self.paths.root / CONFIG_FILE_NAME
        try:
            found = config.stat()
        except OSError:
            return ()
        return found.st_mtime_ns, found.st_size

    def _loop(self) -> None:
        seen, last = self._stamp(), time.monotonic()
        self.tick(starting=True)
        while not self.stopping.wait(self.watch):
            stamp = self._stamp()
            if stamp != seen or time.monotonic() - last >= self.seconds:
                if stamp != seen:
                    log.info("config.toml 已更改：重新安排周报和催报")
                seen, last = stamp, time.monotonic()
                self.tick()

    def stop(self) -> None:
        self.stopping.set()


def serve_forever(paths: Paths, settings: Settings) -> None:
    """Serve the deployments until interrupted; start and supervise a local Prefect server unless
    PREFECT_API_URL points at one."""
    log_to_file(paths)
    os.environ.setdefault("PREFECT_HOME", str(paths.prefect_home))  # the runner's files beside the server's
    server = None
    if not os.environ.get("PREFECT_API_URL"):
        server = LocalServer(paths.prefect_home, paths.log_file.with_name("prefect-server.log"),
                             settings.server.host, settings.server.port, settings.server.startup_timeout_seconds)
        server.start()
        os.environ["PREFECT_API_URL"] = server.api_url  # before Prefect is imported below
        server.supervise()
    from prefect import serve

    planner = None
    try:
        served = deployments(paths, settings)
        for deployment in served:  # registered before the planner asks for them (serve registers them again)
            deployment.apply()
        planner = Planner(paths)
        planner.start()
        serve(*served, print_starting_message=False)
    finally:
        if planner is not None:
            planner.stop()
        if server is not None:
            server.stop()
