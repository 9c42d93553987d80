"""One exception hierarchy (the CLI turns every ``AisError`` into ``Error: ...`` and exit 1),
and the exit codes of the commands."""

from __future__ import annotations

from enum import IntEnum


class AisError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(AisError):
    """An input file or path cannot be used (missing, not Parquet, corrupt, wrong columns)."""


class ConfigError(AisError):
    """A configuration value or file is invalid."""


class ModelError(AisError):
    """A saved model cannot be loaded or does not match this version's features."""


class OutputError(AisError):
    """An output file cannot be written (read-only directory, disk full, no such directory)."""


class ClusterError(AisError):
    """A Dask cluster (``ais scan --cluster``) cannot be started or reached, or has no
    workers."""


class ExitCode(IntEnum):
    """The exit codes of every ``ais`` command, declared once: the commands exit with these,
    and their help and the README list them with :attr:`meaning`."""

    OK = 0
    ERROR = 1
    SKIPPED_FILES = 3
    STATE_BUSY = 4
    SIGINT = 130  # 128 + the signal's number, as shells report it
    SIGTERM = 143

    @property
    def meaning(self) -> str:
        """What the code tells a cron job or a script, in one sentence."""
        return _MEANINGS[self]

    @classmethod
    def after_run(cls, skipped_files: object) -> ExitCode:
        """A run that finished: 3 when it skipped any bad input file, else 0."""
        return cls.SKIPPED_FILES if skipped_files else cls.OK


_MEANINGS = {
    ExitCode.OK: "success, whether or not anything was flagged",
    ExitCode.ERROR: "bad input or usage (the Error: line on stderr names the file, the column "
                    "and the fix)",
    ExitCode.SKIPPED_FILES: "finished, but some input files were bad and skipped "
                            "(--skip-bad-files)",
    ExitCode.STATE_BUSY: "the state database is in use by another scan (retry later, or pass "
                         "--wait SECONDS)",
    ExitCode.SIGINT: "stopped by SIGINT (Ctrl-C): the log gets a scan-failed line, the previous "
                     "CSV and state are kept",
    ExitCode.SIGTERM: "stopped by SIGTERM (timeout, systemd): the log gets a scan-failed line, the "
                      "previous CSV and state are kept",
}


def exit_codes_help(codes: tuple[ExitCode, ...] = tuple(ExitCode)) -> str:
    """The exit codes for a command's help, one per line (click keeps the lines as they are
    after its ``\\b`` marker)."""
    return "\b\nExit codes:\n" + "\n".join(f"  {int(c)}  {c.meaning}" for c in codes)
