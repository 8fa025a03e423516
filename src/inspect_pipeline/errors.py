"""Failures that stop a run (problems inside a school's file are data: see issues.py).

One base class; each subclass carries the process exit code the CLI returns (as click does).
"""


class PipelineError(Exception):
    """A run could not complete. The message is one clear line: what, where, what to do."""

    exit_code = 1


class ConfigError(PipelineError):
    exit_code = 2


class RosterError(PipelineError):
    exit_code = 3


class LockBusy(PipelineError):
    exit_code = 4


class DataRootError(PipelineError):
    exit_code = 5
