"""The ``ais`` command line: thin commands over the library; errors become ``Error: ...``.

Exit codes: 0 success (whether or not anything was flagged), 1 bad input or usage.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ais import __version__
from ais.config import load_config
from ais.errors import AisError

CONTEXT = {"help_option_names": ["-h", "--help"]}


class _Group(click.Group):
    """Turn our own errors into ``Error: message`` and exit code 1."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except AisError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="ais")
def main() -> None:
    """Find loitering, dark periods, ship-to-ship meetups and identity changes in AIS tracks
    near Nampo and Najin."""


def _say(quiet: bool, line: str) -> None:
    if not quiet:
        click.echo(line, err=True)


@main.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Flagged-events CSV to write (atomically).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="TOML file overriding the default thresholds and areas.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def scan(paths: tuple[str, ...], output: Path, config_path: str | None, quiet: bool) -> None:
    """Scan Parquet AIS files, directories or globs (PATHS) and write flagged events."""
    from ais.pipeline import run_scan

    cfg = load_config(config_path)
    result = run_scan(list(paths), output, cfg)
    for line in result.summary_lines():
        _say(quiet, line)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
