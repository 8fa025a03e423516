"""Prefect flows over the library: `intake`, `weekly_report`, `reminders`, and the deployments `serve` runs.

Thin wiring: each task is one call into `inspect_pipeline`, which never imports Prefect. Importing this package
sets Prefect's defaults for an offline office machine (no telemetry, a patient startup timeout, our loggers sent
to the UI) unless the environment already sets them, so import it before Prefect itself.
"""

import os

PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # the machine has no internet: no telemetry, no offline error line
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # a new Prefect database takes 15-35 s here
    "PREFECT_LOGGING_EXTRA_LOGGERS": "inspect_pipeline",  # the library's log lines appear in the UI
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",  # ... and outside a flow run only in the log file
}

for _key, _value in PREFECT_DEFAULTS.items():
    os.environ.setdefault(_key, _value)
