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


class RebuildMismatch(PipelineError):
    exit_code = 6


class RecordError(PipelineError):
    """The database cannot be used: empty, damaged, not ours, or newer than this software."""

    exit_code = 7


class DiskFull(PipelineError):
    exit_code = 8


class NotWritable(PipelineError):
    """A folder or file of the data root cannot be written (read-only, no permission)."""

    exit_code = 9
