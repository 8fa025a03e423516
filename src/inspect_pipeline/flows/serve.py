"""The three deployments `inspect-pipeline serve` runs on their schedules, and the serve loop itself."""

from __future__ import annotations

import logging
import os

from ..core.logs import log_to_file
from ..core.paths import Paths
from ..core.settings import Settings
from .server import LocalServer

log = logging.getLogger(__name__)
TAGS = ["inspect-pipeline"]


def deployments(paths: Paths, settings: Settings) -> list:
    """The deployments (pure objects, no API call): cron schedules in the settings' time zone — a bare cron
    string would mean UTC —, the data root as parameter, one run of each at a time (later ones queue)."""
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron

    from .intake import intake
    from .reminders import reminders
    from .weekly_report import weekly_report

    tz, params = settings.timezone, {"data_root": str(paths.root)}
    plan = [
        (intake, "intake", [settings.schedule.intake]),
        (weekly_report, "weekly-report", [settings.schedule.weekly_report]),
        (reminders, "reminders", settings.schedule.reminders),
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

    try:
        serve(*deployments(paths, settings), print_starting_message=False)
    finally:
        if server is not None:
            server.stop()
