"""The ``ais`` command line: thin commands over the library; errors become ``Error: ...``.

The exit codes are :class:`ais.errors.ExitCode`; each command's help lists the ones it uses
(130 / 143 when SIGINT / SIGTERM stops a scan).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ais import __version__
from ais.config import load_config
from ais.errors import AisError, ExitCode, exit_codes_help

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Where every command looks for the state without --state: one rule for all of them.
STATE_RULE = ("$AIS_STATE, else ais-state.duckdb beside the flagged CSV: the one scan "
              "writes with -o, export and report read, show and history name with --csv")


class _StateBusyError(click.ClickException):
    exit_code = ExitCode.STATE_BUSY


class _Group(click.Group):
    """Turn our own errors into ``Error: message``; usage errors exit 1 like bad input."""

    def invoke(self, ctx: click.Context):
        from ais.nightly.state import StateBusy

        try:
            return super().invoke(ctx)
        except StateBusy as exc:
            raise _StateBusyError(str(exc)) from exc
        except AisError as exc:
            raise click.ClickException(str(exc)) from exc
        except BrokenPipeError:  # before click's own handler, which exits 1
            _quiet_broken_pipe()

    def main(self, *args, **kwargs):
        from ais.runtime.stopping import ScanStopped

        try:
            # non-standalone click returns the exit code of ctx.exit(code) / --help
            code = super().main(*args, standalone_mode=False, **kwargs)
        except ScanStopped as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            exc.show()
            sys.exit(ExitCode.ERROR)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(ExitCode.ERROR)
        except BrokenPipeError:
            _quiet_broken_pipe()
        sys.exit(code if isinstance(code, int) else ExitCode.OK)


def _quiet_broken_pipe() -> None:
    """The reader of our output went away (``ais show ID | head``): that is not an error.
    Point stdout at /dev/null so the interpreter's final flush cannot fail again, and exit
    0 without a traceback."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(ExitCode.OK)


@click.group(cls=_Group, context_settings=CONTEXT, epilog=exit_codes_help())
@click.version_option(__version__, "--version", prog_name="ais")
def main() -> None:
    """Find loitering, dark periods, ship-to-ship meetups and identity changes in AIS tracks
    near Nampo and Najin."""


def _exit_code(exc: BaseException) -> int:
    """The exit code a failure ends the process with (see ais.errors.ExitCode)."""
    from ais.nightly.state import StateBusy

    if isinstance(exc, StateBusy):
        return int(ExitCode.STATE_BUSY)
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code
    return int(getattr(exc, "exit_code", ExitCode.ERROR))


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
skip_option = click.option(
    "--skip-bad-files", is_flag=True,
    help="Process the readable files and name the bad ones (missing, unreadable, truncated, "
         "wrong columns) instead of stopping; exit code 3 when any was skipped.")


def _say_skipped(quiet: bool, report) -> None:
    """-q still names the skipped files: they explain exit code 3."""
    if quiet:
        for line in report.bad_file_lines():
            click.echo(line, err=True)


everywhere_option = click.option(
    "--everywhere", is_flag=True, help="Report events anywhere, not only in the watch areas.")


@main.command(context_settings=CONTEXT, epilog=exit_codes_help())
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Flagged-events CSV to write (atomically: a crash never leaves half a file).")
@click.option("--models", "models_dir", type=click.Path(exists=True, file_okay=False),
              help="Directory with forests from `ais train` (default: the shipped models).")
@config_option
@everywhere_option
@click.option("--since", help="Only pings at or after this UTC time (e.g. 2026-01-05).")
@click.option("--until", help="Only pings before this UTC time (e.g. 2026-01-06).")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              help=f"State database kept from night to night (default: {STATE_RULE}).")
@click.option("--no-state", is_flag=True,
              help="Scan these files on their own: read and write no state.")
@click.option("--wait", "wait_s", type=float, default=0.0, show_default=True,
              help="Seconds to wait for another scan holding the state (then exit 4).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Log file, one line per stage (default: ais-scan.log beside the CSV).")
@click.option("--timings", is_flag=True, help="Print the seconds each stage took.")
@skip_option
@click.option("--memory-limit", default="8GB", show_default=True,
              help="Memory budget (e.g. 4GB): DuckDB spills to a temporary directory beyond "
                   "it instead of failing (on --cluster workers too), and an input too large "
                   "to scan whole within it (about 0.5 GB plus 300 bytes a ping) is scanned "
                   "one day at a time (--by-day).")
@click.option("--by-day", is_flag=True,
              help="Scan a long input (a month) one UTC day at a time through the state, "
                   "like nightly runs: memory bounded by one day of pings.")
@click.option("--cluster", "cluster_spec", metavar="local[:N] | tcp://HOST:PORT",
              help="Run the detectors on a Dask cluster: local:N starts N worker processes "
                   "on this machine for the scan (local: 2), tcp://HOST:PORT uses a running "
                   "`dask scheduler`. Same CSV; ingest, tracks, scoring and the state stay "
                   "here; a scan by day runs every day's detectors on the one cluster. Needs "
                   "pip install 'ais[cluster]'. Without it nothing changes.")
@click.option("-q", "--quiet", is_flag=True,
              help="Print nothing but errors (progress bars show only on a terminal anyway).")
@click.pass_context
def scan(ctx: click.Context, paths: tuple[str, ...], output: Path, models_dir: str | None,
         config_path: str | None, everywhere: bool, since: str | None, until: str | None,
         state_path: Path | None, no_state: bool, wait_s: float, log_path: Path | None,
         timings: bool, skip_bad_files: bool, memory_limit: str, by_day: bool,
         cluster_spec: str | None, quiet: bool) -> None:
    """Scan AIS files, directories or globs (PATHS: Parquet, CSV, .csv.gz, .zip, NMEA logs)
    and write the ranked CSV of flagged events.

    With the state (on by default) the scan continues last night's: a vessel dark across
    midnight is measured whole, a name seen yesterday is compared with today's, an event that
    goes on keeps its event_id (status 'continuing'), and re-running a night gives the same CSV.
    """
    import contextlib
    import functools
    import time

    from ais.db import memory_limit as duckdb_memory_limit
    from ais.nightly.state import State, default_path
    from ais.pipeline import SCAN_STAGES, Timings, run_scan
    from ais.runtime.allocator import tune_batch_process
    from ais.runtime.scanlog import ScanLog, progress_bar, stage_callback, wants_progress
    from ais.runtime.stopping import stop_on_signals

    if cluster_spec is not None:
        from ais.runtime.cluster import parse

        parse(cluster_spec)  # a malformed value fails before anything starts
    tune_batch_process()
    cfg = _config(config_path, everywhere, since, until)
    log = ScanLog(log_path or Path(output).resolve().parent / "ais-scan.log")
    log.line("scan-start", inputs=" ".join(paths), output=output)
    t0 = time.perf_counter()
    state = None
    bar = progress_bar(SCAN_STAGES) if wants_progress(quiet) else None
    scope = contextlib.ExitStack()
    stop = scope.enter_context(stop_on_signals())
    try:
        # every DuckDB connection of the scan, the state's included, gets the limit
        scope.enter_context(duckdb_memory_limit(memory_limit))
        if not no_state:
            state = State.open(state_path or default_path(output), wait_s=wait_s)
            log.line("state", path=state.path)
        if bar is not None:
            bar.__enter__()
        from ais.nightly.byday import run_scan_by_day, too_big_for_one_scan

        why = None if by_day else too_big_for_one_scan(paths, memory_limit)
        if why:
            log.line("by-day", reason=why)
        client = None
        if cluster_spec is not None:  # started once: every day of a scan by day runs on it
            from ais.runtime.cluster import connect as cluster

            client = scope.enter_context(cluster(cluster_spec))
            log.line("cluster", spec=cluster_spec, scheduler=client.scheduler.address)
        scan_fn = (functools.partial(run_scan_by_day, memory_limit=memory_limit, client=client)
                   if by_day or why else functools.partial(run_scan, client=client))
        result = scan_fn(list(paths), output, cfg, models_dir, state=state,
                         timings=Timings(on_stage=stage_callback(log, bar)),
                         skip_bad_files=skip_bad_files)
        if why:
            result.notes.append(why)
    except BaseException as exc:
        failure = stop.reason(exc)
        log.line("scan-failed", exit=_exit_code(failure),
                 seconds=f"{time.perf_counter() - t0:.2f}",
                 error=f"{type(failure).__name__}: {failure}")
        log.close()
        if failure is not exc:
            raise failure from exc
        raise
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        if state is not None:
            state.close()
        scope.close()  # the spill folder goes after the last connection
    code = ExitCode.after_run(getattr(result.report, "bad_files", None))
    for note in result.notes:  # what a reader of the log must not miss
        if note.startswith(("warning:", "note:")):
            log.line(note.split(":", 1)[0], text=note.split(":", 1)[1].strip())
    log.line("scan-done", exit=code, state_run=result.run_id, flagged=len(result.events),
             seconds=f"{time.perf_counter() - t0:.2f}", output=result.output)
    log.close()
    for line in result.summary_lines():
        _say(quiet, line)
    if timings:
        for line in ["stage timings:", *result.timings.lines()]:
            click.echo(line, err=True)
    _say_skipped(quiet, result.report)
    ctx.exit(code)


@main.command(context_settings=CONTEXT, epilog=exit_codes_help(
    (ExitCode.OK, ExitCode.ERROR, ExitCode.SKIPPED_FILES)))
@click.argument("paths", nargs=-1, required=True)
@click.option("--models", "models_dir", type=click.Path(file_okay=False), required=True,
              help="Directory to write the forests to.")
@config_option
@everywhere_option
@skip_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def train(ctx: click.Context, paths: tuple[str, ...], models_dir: str, config_path: str | None,
          everywhere: bool, skip_bad_files: bool, quiet: bool) -> None:
    """Fit one isolation forest per event type on a baseline window of AIS (PATHS)."""
    from ais.pipeline import run_train
    from ais.runtime.allocator import tune_batch_process

    tune_batch_process()
    models, detected, path = run_train(list(paths), models_dir,
                                       _config(config_path, everywhere),
                                       skip_bad_files=skip_bad_files)
    for line in detected.report.lines():
        _say(quiet, line)
    for t, m in models.types.items():
        state = "fitted" if m.forest is not None else "too few candidates, not fitted"
        _say(quiet, f"{t}: {m.n_baseline} baseline candidates ({state})")
    _say(quiet, f"wrote {path}")
    _say_skipped(quiet, detected.report)
    ctx.exit(ExitCode.after_run(detected.report.bad_files))


@main.command(context_settings=CONTEXT, epilog=exit_codes_help(
    (ExitCode.OK, ExitCode.ERROR, ExitCode.SKIPPED_FILES)))
@click.argument("paths", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Parquet file to write (atomically).")
@skip_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.pass_context
def convert(ctx: click.Context, paths: tuple[str, ...], output: Path, skip_bad_files: bool,
            quiet: bool) -> None:
    """Write AIS inputs (PATHS: Parquet, CSV, .csv.gz, .zip, NMEA logs, directories, globs)
    as one canonical Parquet file, so a month of NMEA is decoded once and scanned fast."""
    from ais.inputs.readers.convert import convert as run

    result = run(list(paths), output, skip_bad_files=skip_bad_files)
    for line in result.lines():
        _say(quiet, line)
    if quiet:
        for _, reason in result.bad_files:
            click.echo(reason, err=True)
    ctx.exit(ExitCode.after_run(result.bad_files))


@main.command(context_settings=CONTEXT)
@click.argument("flagged", type=click.Path(exists=True, dir_okay=False))
@click.option("--truth", type=click.Path(exists=True, dir_okay=False), required=True,
              help="Truth CSV of a synthetic scenario (from `ais synth`).")
def evaluate(flagged: str, truth: str) -> None:
    """Precision, recall and F1 of a flagged CSV against a truth table."""
    import pandas as pd

    from ais.judging.evaluate import check_inputs
    from ais.judging.evaluate import evaluate as run

    try:
        flagged_rows, truth_rows = pd.read_csv(flagged), pd.read_csv(truth)
    except (ValueError, pd.errors.ParserError) as exc:
        raise click.ClickException(f"cannot read {flagged} or {truth} as CSV: {exc}") from exc
    try:
        check_inputs(flagged_rows, truth_rows, str(flagged), str(truth))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        result = run(flagged_rows, truth_rows)
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
@click.option("--sparse-meetups", type=click.IntRange(min=1), default=1, show_default=True,
              help="Meetups of two satellite reporters; each beyond the first comes with a "
                   "look-alike pair drifting 800-1,200 m apart.")
@click.option("--name", default=None, help="File stem (default: synth_<seed>).")
def synth(out_dir: Path, seed: int, days: int, start: str, n_background: int,
          events_per_type: int, sparse_meetups: int, name: str | None) -> None:
    """Write a synthetic scenario (Parquet + truth CSV) around Nampo and Najin."""
    from ais.synth.world import write_scenario

    paths = write_scenario(out_dir, seed, name=name or f"synth_{seed}", days=days, start=start,
                           n_background=n_background, events_per_type=events_per_type,
                           sparse_meetups=sparse_meetups)
    for p in paths:
        click.echo(str(p))


state_option = click.option(
    "--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
    help=f"State database the scans wrote (default: {STATE_RULE}).")
flagged_csv_option = click.option(
    "--csv", "flagged_csv", type=click.Path(dir_okay=False, path_type=Path),
    default=Path("flagged.csv"), show_default=True,
    help="The flagged CSV the scan wrote: its state is beside it (see --state).")


csv_state_option = click.option(
    "--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
    help=f"State the scan wrote (default: {STATE_RULE}).")


@main.command(context_settings=CONTEXT)
@click.argument("mmsi", type=int)
@state_option
@flagged_csv_option
def history(mmsi: int, state_path: Path | None, flagged_csv: Path) -> None:
    """A vessel's identities and events over the nights scanned so far."""
    from ais.nightly.state import State, default_path
    from ais.views.history import history_lines

    with State.open(state_path or default_path(flagged_csv), read_only=True) as state:
        lines = history_lines(mmsi, *state.history(mmsi))
    for line in lines:
        click.echo(line)


def _read_flagged(flagged: Path):
    """The flagged-events CSV `ais scan` wrote, or a clear error."""
    import pandas as pd

    try:
        events = pd.read_csv(flagged, dtype={"event_id": str})
    except (ValueError, pd.errors.ParserError) as exc:
        raise click.ClickException(f"{flagged}: not a flagged-events CSV ({exc})") from exc
    if "event_id" not in events.columns:
        raise click.ClickException(f"{flagged}: no event_id column; pass the CSV `ais scan` "
                                   "wrote")
    return events


def _flagged_with_pings(flagged: Path, state_path: Path | None):
    """The CSV's events and, from the state the scan wrote, their pings."""
    from ais.nightly.state import State, default_path

    events = _read_flagged(flagged)
    with State.open(state_path or default_path(flagged), read_only=True) as state:
        pings = state.event_pings(list(events["event_id"]))
        runs = state.runs()
    missing = sorted(set(events["event_id"]) - set(pings.get("event_id", [])))
    return events, pings, runs, missing


@main.command(context_settings=CONTEXT)
@click.argument("event_id")
@state_option
@flagged_csv_option
@click.option("--png", "png_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Map to write (default: EVENT_ID.png in the current directory).")
@click.option("--models", "models_dir", type=click.Path(exists=True, file_okay=False),
              help="Forests to compare the features with (default: the shipped models).")
@config_option
def show(event_id: str, state_path: Path | None, flagged_csv: Path, png_path: Path | None,
         models_dir: str | None, config_path: str | None) -> None:
    """The story of one flagged event (identities, timeline, features against the baseline)
    and a PNG map of the tracks around it."""
    from ais.errors import ModelError
    from ais.judging import scoring
    from ais.nightly.state import State, default_path
    from ais.pipeline import DEFAULT_MODELS, FEATURES
    from ais.views.maps import event_map
    from ais.views.story import story_lines

    path = state_path or default_path(flagged_csv)
    with State.open(path, read_only=True) as state:
        events = state.events([event_id])
        pings = state.event_pings([event_id])
    if events.empty:
        raise click.ClickException(
            f"no event {event_id} in the state {path}; event ids are the first column of the "
            "CSV, and --state must name the state file that scan wrote")
    try:
        models = scoring.load(models_dir or DEFAULT_MODELS, FEATURES)
    except ModelError:
        models = None
    event = events.iloc[0]
    lines = story_lines(event, pings, models)
    # the map first: a reader that stops early (`| head`) still gets it
    png = event_map(event, pings, load_config(config_path),
                    path=png_path or Path(f"{event_id}.png"))
    for line in lines:
        click.echo(line)
    click.echo(f"map: {png_path or Path(f'{event_id}.png')} ({len(png):,} bytes)")


@main.command(context_settings=CONTEXT)
@click.argument("flagged", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["geojson", "kml", "xlsx"],
                                                   case_sensitive=False), required=True,
              help="geojson for QGIS, kml for Google Earth, xlsx for a spreadsheet.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: the CSV's name with .geojson, .kml or .xlsx).")
@click.option("--maps", "maps_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="xlsx: folder of EVENT_ID.png maps to link each event id to (default: the "
                   "CSV's folder, then the current one, where `ais show` writes them).")
@csv_state_option
def export(flagged: Path, fmt: str, output: Path | None, maps_dir: Path | None,
           state_path: Path | None) -> None:
    """Write the flagged events of a CSV with their track segments and dark gaps as GeoJSON
    or KML, or the events as an Excel workbook."""
    from ais.views.export import export as write

    fmt = fmt.lower()
    out_path = output or flagged.with_suffix(f".{fmt}")
    if fmt == "xlsx":  # the rows only: no tracks, no state needed
        events = _read_flagged(flagged)
        folders = [maps_dir] if maps_dir else [flagged.resolve().parent, Path.cwd()]
        out = write(events, events.iloc[:0], out_path, fmt, maps=folders)
        from ais.views.xlsx import map_links

        n_maps = len(map_links([str(e) for e in events["event_id"]], folders))
        click.echo(f"wrote {out}: {len(events)} events, {n_maps} linked to their map")
        return
    events, pings, _, missing = _flagged_with_pings(flagged, state_path)
    out = write(events, pings, out_path, fmt)
    click.echo(f"wrote {out}: {len(events)} events, {len(pings):,} track points")
    if missing:
        click.echo(f"{len(missing)} events have no stored track (scanned with --no-state, or "
                   f"another state?): exported as points only: {', '.join(missing[:5])}"
                   + (" ..." if len(missing) > 5 else ""), err=True)


@main.command(context_settings=CONTEXT)
@click.argument("flagged", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: the CSV's name with .html).")
@csv_state_option
@config_option
def report(flagged: Path, output: Path | None, state_path: Path | None,
           config_path: str | None) -> None:
    """One self-contained HTML page for the night: the ranked events with their reasons and a
    small map each (opens from a mail attachment, no server)."""
    import json

    from ais.views.output import atomic_path
    from ais.views.report import render_report

    events, pings, runs, missing = _flagged_with_pings(flagged, state_path)
    info: dict[str, object] = {"flagged_csv": str(flagged)}
    mine = runs[(runs["output"].astype(str).str.endswith(flagged.name))
                & (runs["status"] == "ok")] if len(runs) else runs
    if len(mine):
        run = mine.iloc[-1]
        info["inputs"] = json.loads(run["inputs"])
        info["data_window"] = [f"{run['night_start']:%Y-%m-%d %H:%M} UTC",
                               f"{run['night_end']:%Y-%m-%d %H:%M} UTC"]
        info["scanned_at"] = f"{run['finished_at']:%Y-%m-%d %H:%M} UTC (run {run['run_id']})"
        info["pings"] = f"{int(run['rows_out']):,} kept of {int(run['rows_in']):,} read"
        info["candidates"] = json.loads(run["candidates"])
        info["notes"] = [n for n in str(run["notes"] or "").splitlines() if n]
    html = render_report(events, pings, load_config(config_path), info)
    out = output or flagged.with_suffix(".html")
    with atomic_path(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    click.echo(f"wrote {out}: {len(events)} events"
               + (f" ({len(missing)} without a stored track, no map)" if missing else ""))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
