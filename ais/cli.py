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

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


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
    near Nampo and Najin.

    Exit codes: 0 success (whether or not anything was flagged), 1 bad input or usage.
    """


def _say(quiet: bool, line: str) -> None:
    if not quiet:
        click.echo(line, err=True)


def _config(config_path: str | None, everywhere: bool, since: str | None = None,
            until: str | None = None):
    import dataclasses

    cfg = load_config(config_path)
    if since or until:
        clean = dataclasses.replace(cfg.clean, since=since or cfg.clean.since,
                                    until=until or cfg.clean.until)
        cfg = dataclasses.replace(cfg, clean=clean)
    return dataclasses.replace(cfg, everywhere=True) if everywhere else cfg


config_option = click.option(
    "--config", "config_path", type=click.Path(exists=True, dir_okay=False),
    help="TOML file overriding thresholds, watch areas, ports and anchorages.")
everywhere_option = click.option(
    "--everywhere", is_flag=True, help="Report events anywhere, not only in the watch areas.")


@main.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Flagged-events CSV to write (atomically: a crash never leaves half a file).")
@click.option("--models", "models_dir", type=click.Path(exists=True, file_okay=False),
              help="Directory with forests from `ais train` (default: the shipped models).")
@config_option
@everywhere_option
@click.option("--since", help="Only pings at or after this UTC time (e.g. 2026-01-05).")
@click.option("--until", help="Only pings before this UTC time (e.g. 2026-01-06).")
@click.option("--timings", is_flag=True, help="Print the seconds each stage took.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def scan(paths: tuple[str, ...], output: Path, models_dir: str | None, config_path: str | None,
         everywhere: bool, since: str | None, until: str | None, timings: bool,
         quiet: bool) -> None:
    """Scan Parquet AIS files, directories or globs (PATHS) and write the ranked CSV of
    flagged events."""
    from ais.pipeline import run_scan

    cfg = _config(config_path, everywhere, since, until)
    result = run_scan(list(paths), output, cfg, models_dir)
    for line in result.summary_lines():
        _say(quiet, line)
    if timings:
        for line in ["stage timings:", *result.timings.lines()]:
            click.echo(line, err=True)


@main.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True)
@click.option("--models", "models_dir", type=click.Path(file_okay=False), required=True,
              help="Directory to write the forests to.")
@config_option
@everywhere_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def train(paths: tuple[str, ...], models_dir: str, config_path: str | None, everywhere: bool,
          quiet: bool) -> None:
    """Fit one isolation forest per event type on a baseline window of AIS (PATHS)."""
    from ais.pipeline import run_train

    models, detected, path = run_train(list(paths), models_dir,
                                       _config(config_path, everywhere))
    for line in detected.report.lines():
        _say(quiet, line)
    for t, m in models.types.items():
        state = "fitted" if m.forest is not None else "too few candidates, not fitted"
        _say(quiet, f"{t}: {m.n_baseline} baseline candidates ({state})")
    _say(quiet, f"wrote {path}")


@main.command(context_settings=CONTEXT)
@click.argument("flagged", type=click.Path(exists=True, dir_okay=False))
@click.option("--truth", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Truth CSV of a synthetic scenario (from `ais synth`).")
def evaluate(flagged: str, truth: str) -> None:
    """Precision, recall and F1 of a flagged CSV against a truth table."""
    import pandas as pd

    from ais.evaluate import evaluate as run

    try:
        result = run(pd.read_csv(flagged), pd.read_csv(truth))
    except (KeyError, ValueError) as exc:
        raise click.ClickException(f"cannot compare {flagged} with {truth}: {exc}") from exc
    for line in result.lines():
        click.echo(line)


@main.command(context_settings=CONTEXT)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, required=True, help="Random seed: same seed, same bytes.")
@click.option("--days", type=int, default=1, show_default=True)
@click.option("--start", default="2026-01-05", show_default=True, help="First day (UTC).")
@click.option("--vessels", "n_background", type=int, default=60, show_default=True,
              help="Background vessels.")
@click.option("--events-per-type", type=int, default=3, show_default=True)
@click.option("--name", default=None, help="File stem (default: synth_<seed>).")
def synth(out_dir: Path, seed: int, days: int, start: str, n_background: int,
          events_per_type: int, name: str | None) -> None:
    """Write a synthetic scenario (Parquet + truth CSV) around Nampo and Najin."""
    from ais.synth import write_scenario

    paths = write_scenario(out_dir, seed, name=name or f"synth_{seed}", days=days, start=start,
                           n_background=n_background, events_per_type=events_per_type)
    for p in paths:
        click.echo(str(p))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
