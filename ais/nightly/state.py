"""What one night's scan keeps for the next: a DuckDB database file.

Tables (all written by :meth:`State.commit_night` in one transaction, so a scan killed at any
moment leaves the previous state as it was):

- ``runs``: the run log, one row per scan (inputs, data window, counts, stage seconds, library
  versions, status and exit code). A row is inserted as ``running`` when a scan starts; a scan
  that never finished is marked ``interrupted`` by the next one.
- ``carry``: pings carried from one night to the next, keyed by the night that produced them:
  each vessel's last ``vessel_tail_h`` hours of reporting (kept while its last ping is younger
  than ``keep_days``, so a vessel still dark at midnight is measured whole when it reappears and
  a name it had yesterday is compared with today's) and every ping since the start of an event
  still going on at the end of the night (so it comes out whole, with the same ``event_id``).
- ``events``: every event ever reported, by ``event_id``, with the night it was first and last
  reported and its CSV row (JSON). An event that continues tonight updates its row.
- ``event_pings``: the pings of each reported event's vessels around the event, for
  ``ais show``, ``ais export`` and ``ais report``.
- ``ais_state``: the marker (``format = ais-state``, ``version``): a DuckDB file without it
  is another program's and is refused untouched (a version 1 state, which had no marker, is
  recognised by its tables and given one). A table written from a frame takes its columns'
  types from the frame, except that a column with no value in it takes the type it means
  (:data:`NULL_COLUMN_TYPES`), never DuckDB's NULL type, into which no later night's value
  could be written; a state written before that rule has such columns retyped when it is
  opened for writing.
- ``partners``: per night, the candidates a paired detector keeps as rows for the nights
  after (a wait at sea that ended tonight, for a silent vessel that reappears tomorrow: a dark
  meetup; ``ais.nightly.carry.partners_out``), a few thousand rows a night at most.
- ``partner_pings``: per night, the pings kept with each ``partners`` row (its vessel around
  it, thinned as an event's: at most 202 a row; ``event_id`` the row's), so a dark meetup
  paired on a later night with a wait of an earlier one is stored with the wait's pings
  (``ais.nightly.carry.with_partner_pings``): its map and exports show the wait.
- ``still``: per night, each vessel's stationary pings by anchorage cell over the last
  ``keep_days`` (sums: ``ais.geography.anchorages.still``), so anchorages are learned from
  the week's traffic, and a night cut into windows learns what one scan of it would.
- ``identities``: per night, each vessel's identities (name, call sign, IMO, type) with first and
  last time seen and ping counts, for ``ais history``.

A night is the data window of a scan (``--since``/``--until``, else the first and last cleaned
ping). Tonight's scan takes the carry of the latest night that started before tonight, so
re-running a night, or back-filling an older night, uses the same carry as the first time and
gives the same CSV and the same state.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ais.db import connect, fetch_frame, memory_bytes, plain_text, scoped_memory_limit
from ais.errors import AisError

#: Version 2 added the ``ais_state`` marker table; version 1 files (``meta`` with
#: schema 1 and our tables only) are recognised by their tables and migrated.
SCHEMA_VERSION = "2"
DEFAULT_NAME = "ais-state.duckdb"
#: DuckDB's memory for the state file: what it reads and writes is written through to the
#: file beyond this, instead of staying cached beside the scan's pings (a dense night's carry
#: of 2 M pings took 0.3-0.55 GB more RSS to write without it).
STATE_MEMORY = "256MB"
#: The marker that says a DuckDB file is an ais state (``format``) and of which version.
MARKER_TABLE = "ais_state"
FORMAT = "ais-state"
#: Every table and sequence a state of ours holds (version 1 had the same, without marker).
OUR_TABLES = frozenset({MARKER_TABLE, "meta", "runs", "events", "identities", "carry",
                        "event_pings", "partners", "partner_pings", "still"})
#: The SQL type of a column that has no value in the frame that creates its table, which
#: its type cannot come from (DuckDB would type it NULL, or as the dtype pandas gave its
#: missing values, and every later night with a value there would fail to be written): the
#: type the pings frame (``ais.inputs.pingframe``, ``ais.inputs.ingest``) and the events
#: schema (``ais.events.BASE_COLUMNS``) give it. A column not named here keeps the type its
#: dtype gives it, or is text where that would be DuckDB's NULL.
NULL_COLUMN_TYPES: dict[str, str] = {
    **dict.fromkeys(("mmsi", "other_mmsi", "imo"), "BIGINT"),
    **dict.fromkeys(("timestamp", "start_time", "end_time", "night_start", "first_night",
                     "last_night", "first_seen", "last_seen"), "TIMESTAMPTZ"),
    **dict.fromkeys(("lat", "lon", "sog", "cog", "heading", "length", "width", "draught",
                     "duration_h", "gap_before_h"), "DOUBLE"),
    **dict.fromkeys(("track", "segment"), "INTEGER"),
    **dict.fromkeys(("is_open", "passes_rule"), "BOOLEAN"),
    **dict.fromkeys(("name", "callsign", "ship_type", "nav_status", "destination", "name_norm",
                     "callsign_norm", "vessel_class", "event_id", "event_type"), "VARCHAR"),
}


class StateBusy(AisError):
    """Another scan holds the state database."""


class StateError(AisError):
    """The state database cannot be used (not a state file, newer schema, unreadable)."""


@dataclass(frozen=True)
class CarryConfig:
    """How much of each night is carried to the next."""

    vessel_tail_h: float = 3.0   # each vessel's last hours of reporting
    keep_days: float = 7.0       # forget vessels silent for longer than this
    event_pad_h: float = 2.0     # pings carried from before an unfinished event's start
    max_event_carry_h: float = 24.0  # ... but not more than this before the night's end
    #: the unfinished candidates of vessels with no flagged event tonight carry their pings
    #: older than ``vessel_tail_h`` thinned to the first and last of each such interval
    unflagged_every_s: int = 1800
    #: ... but every ping within this many hours of the candidate's start, either side: the
    #: detectors find a start from the speeds and distances of the half hour around it, so
    #: the thinned pings alone would move it (and its id) by up to ``unflagged_every_s``
    start_whole_h: float = 1.0


@dataclass(frozen=True)
class Night:
    start: pd.Timestamp
    end: pd.Timestamp

    def label(self) -> str:
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        return f"{self.start.strftime(fmt)} .. {self.end.strftime(fmt)}"


_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS run_ids START 1;
CREATE TABLE IF NOT EXISTS runs (
    run_id BIGINT PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
    status VARCHAR, exit_code INTEGER, pid INTEGER, inputs VARCHAR, output VARCHAR,
    night_start TIMESTAMPTZ, night_end TIMESTAMPTZ, carried_from_night TIMESTAMPTZ,
    rows_in BIGINT, rows_out BIGINT, carried_pings BIGINT, candidates VARCHAR,
    flagged INTEGER, new_events INTEGER, continued_events INTEGER,
    seconds VARCHAR, versions VARCHAR, notes VARCHAR);
CREATE TABLE IF NOT EXISTS events (
    event_id VARCHAR PRIMARY KEY, event_type VARCHAR, mmsi BIGINT, other_mmsi BIGINT,
    start_time TIMESTAMPTZ, end_time TIMESTAMPTZ, anomaly_score DOUBLE,
    first_night TIMESTAMPTZ, last_night TIMESTAMPTZ, row_json VARCHAR);
CREATE TABLE IF NOT EXISTS identities (
    night_start TIMESTAMPTZ, mmsi BIGINT, name VARCHAR, callsign VARCHAR, imo BIGINT,
    ship_type VARCHAR, first_seen TIMESTAMPTZ, last_seen TIMESTAMPTZ, pings BIGINT);
"""


def default_path(beside: str | Path | None = None) -> Path:
    """``$AIS_STATE`` if set, else ``ais-state.duckdb`` beside the file ``beside`` (the CSV),
    or in the current directory."""
    env = os.environ.get("AIS_STATE")
    if env:
        return Path(env)
    return (Path(beside).resolve().parent if beside is not None else Path()) / DEFAULT_NAME


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC").floor("s")


class State:
    """An open state database. Holding it open holds DuckDB's file lock: one scan at a time."""

    #: carries of nights older than this before the newest are deleted
    keep_carries_days = 14

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con, self.path = con, path

    # ------------------------------------------------------------------ opening and closing
    @classmethod
    def open(cls, path: str | Path, *, wait_s: float = 0.0, read_only: bool = False) -> State:
        """Open (creating if needed) the state file; wait up to ``wait_s`` for another scan.

        Raises:
            StateBusy: another process holds the file after ``wait_s`` seconds.
            StateError: the file is not a DuckDB state database or has a newer schema.
        """
        path = Path(path)
        if read_only and not path.exists():
            raise StateError(f"{path}: no state database here; run `ais scan` first, or pass "
                             "--state with the file the scan wrote (or --csv with the flagged "
                             "CSV it wrote: the state is beside it)")
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + max(wait_s, 0.0)
        while True:
            try:
                con = connect(str(path), read_only=read_only, memory_limit=_state_memory())
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StateError(f"{path}: cannot open the state database ({exc})") from exc
                if time.monotonic() >= deadline:
                    raise StateBusy(
                        f"{path}: the state database is in use by another scan; wait for it "
                        "to finish or pass --wait SECONDS") from exc
                time.sleep(0.5)
            except duckdb.Error as exc:
                raise StateError(f"{path}: not a usable state database ({exc}); move it "
                                 "aside or pass another --state") from exc
        state = cls(con, path)
        try:
            version = state._version()
            if not read_only:
                state._read_all()
                state._migrate(version)
        except duckdb.Error as exc:  # a damaged file can open and fail on the first read
            con.close()
            raise StateError(f"{path}: not a usable state database "
                             f"({str(exc).splitlines()[0]}); move it aside or pass another "
                             "--state") from exc
        except StateError:
            con.close()
            raise
        return state

    def _read_all(self) -> None:
        """Read every block of every table once, so a damaged (e.g. truncated) file fails
        here, before this scan writes anything to it."""
        for (table,) in self.con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
            self.con.execute(f"SELECT min(hash(t)) FROM {_ident(table)} t").fetchall()

    def _version(self) -> int | None:
        """Which version of our state this file is (None: an empty database, ours to fill).

        Raises:
            StateError: the file is another program's DuckDB database, or a newer state
                than this version of ais reads; nothing has been written to it.
        """
        con = self.con
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        if not tables:
            return None
        if MARKER_TABLE in tables:
            marker = dict(con.execute(f"SELECT key, value FROM {MARKER_TABLE}").fetchall())
            if marker.get("format") == FORMAT:
                version = int(marker.get("version", "0"))
                if version > int(SCHEMA_VERSION):
                    raise StateError(
                        f"{self.path}: state version {version} was written by a newer ais "
                        f"(this one reads up to {SCHEMA_VERSION}); upgrade ais, or pass "
                        "another --state")
                return version
        elif tables <= OUR_TABLES and "meta" in tables and "runs" in tables:
            schema = con.execute("SELECT value FROM meta WHERE key = 'schema'").fetchall()
            columns = {r[0] for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'runs'")
                .fetchall()}
            if schema == [("1",)] and {"run_id", "status", "night_start"} <= columns:
                return 1  # our first format: no marker yet
        shown = ", ".join(sorted(tables)[:6]) + (", ..." if len(tables) > 6 else "")
        raise StateError(
            f"{self.path}: a DuckDB database of another program (tables: {shown}), not an "
            "ais state; it was left as it was. Pass --state with a new file name (or "
            "--no-state)")

    def _migrate(self, version: int | None) -> None:
        """Create the tables of a new state, or bring an older state of ours up to date (on
        a current one this writes nothing, but touches every table: a damaged file fails
        here, before the scan begins)."""
        self.con.execute("BEGIN")
        try:
            self.con.execute(_SCHEMA)
            if version is None:
                self.con.execute("INSERT INTO meta VALUES ('schema', ?)", [SCHEMA_VERSION])
            if version != int(SCHEMA_VERSION):
                # version 1 -> 2: the marker; every table stays as it was
                self.con.execute(f"INSERT OR REPLACE INTO {MARKER_TABLE} VALUES "
                                 "('format', ?), ('version', ?)", [FORMAT, SCHEMA_VERSION])
                self.con.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)",
                                 [SCHEMA_VERSION])
            # any version: a column an earlier ais typed NULL (it had no value on the night
            # that created its table) takes the type it means, so later values fit in it
            for table, column in self.con.execute(
                    "SELECT table_name, column_name FROM duckdb_columns() WHERE "
                    "database_name = current_database() AND schema_name = 'main' AND "
                    "list_contains(?, table_name) AND trim(data_type, '\"') = 'NULL' "
                    "ORDER BY ALL", [sorted(OUR_TABLES)]).fetchall():
                self.con.execute(f"ALTER TABLE {_ident(table)} ALTER {_ident(column)} "
                                 f"TYPE {_null_column_type(column)}")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _has(self, table: str) -> bool:
        return _table_exists(self.con, table)

    # ------------------------------------------------------------------ the run log
    def begin_run(self, inputs: list[str], output: str) -> tuple[int, list[str]]:
        """Log a run as started (committed at once); returns its id and notes about earlier
        runs that never finished."""
        try:
            return self._begin_run(inputs, output)
        except duckdb.Error as exc:  # a damaged file can open and fail on a later read
            raise StateError(f"{self.path}: not a usable state database "
                             f"({str(exc).splitlines()[0]}); move it aside or pass another "
                             "--state") from exc

    def _begin_run(self, inputs: list[str], output: str) -> tuple[int, list[str]]:
        notes = []
        try:  # one transaction: a file damaged where opening it did not look is not touched
            self.con.execute("BEGIN")
            stale = self.con.execute(
                "SELECT run_id, started_at FROM runs WHERE status = 'running'").df()
            for run_id, started in stale.itertuples(index=False):
                notes.append(f"state: run {run_id} started {started:%Y-%m-%d %H:%M:%S} UTC "
                             "never finished (killed?); its partial work was discarded")
            self.con.execute(
                "UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
            run_id = self.con.execute("SELECT nextval('run_ids')").fetchall()[0][0]
            self.con.execute(
                "INSERT INTO runs (run_id, started_at, status, pid, inputs, output) "
                "VALUES (?, ?, 'running', ?, ?, ?)",
                [run_id, _now(), os.getpid(), json.dumps(inputs), output])
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            raise StateError(f"{self.path}: not a usable state database "
                             f"({str(exc).splitlines()[0]}); move it aside or pass another "
                             "--state") from exc
        return int(run_id), notes

    def fail_run(self, run_id: int, exit_code: int, message: str) -> None:
        self.con.execute("UPDATE runs SET status = 'failed', exit_code = ?, finished_at = ?, "
                         "notes = ? WHERE run_id = ?", [exit_code, _now(), message, run_id])

    def runs(self) -> pd.DataFrame:
        return self.con.execute("SELECT * FROM runs ORDER BY run_id").df()

    # ------------------------------------------------------------------ what tonight starts from
    def previous_nights(self, night: Night) -> tuple[list[str], pd.Timestamp | None]:
        """Notes on how tonight relates to nights already scanned, and the night whose carry
        tonight starts from (the latest finished night that started before tonight)."""
        rows = list(self.con.execute(
            "SELECT night_start, night_end, max(finished_at) FROM runs "
            "WHERE status = 'ok' AND night_start IS NOT NULL "
            "GROUP BY ALL ORDER BY night_start").df().itertuples(index=False))
        notes = []
        fmt = "%Y-%m-%d %H:%M"
        for start, end, finished in rows:
            s, e = pd.Timestamp(start), pd.Timestamp(end)
            if s == night.start and e == night.end:
                notes.append(f"state: this night ({night.label()}) was already scanned "
                             f"(last at {finished:%Y-%m-%d %H:%M:%S} UTC); its results are "
                             "replaced, not added")
            elif s < night.end and night.start < e:
                notes.append(f"state: this night overlaps the night scanned for "
                             f"{s:{fmt}} .. {e:{fmt}} UTC; events are matched by id and by "
                             "overlap, so none is counted twice")
        latest = max((pd.Timestamp(e) for _, e, _ in rows), default=None)
        if latest is not None and night.end < latest and not any(
                "already scanned" in n for n in notes):
            notes.append(f"state: back-filling a night older than the latest scanned one "
                         f"(ends {latest:{fmt}} UTC); later nights are not recomputed")
        before = [pd.Timestamp(s) for s, _, _ in rows if pd.Timestamp(s) < night.start]
        return notes, max(before) if before else None

    def carry(self, from_night: pd.Timestamp | None, night: Night) -> pd.DataFrame:
        """The pings carried from ``from_night`` that come before tonight, in no particular
        order (:func:`ais.nightly.carry.combine` sorts them with tonight's), text columns as
        categoricals (like ingest's: a dense night carries millions of pings)."""
        if from_night is None or not self._has("carry"):
            return pd.DataFrame()
        return fetch_frame(self.con, f"""
            SELECT * EXCLUDE (night_start) FROM carry
            WHERE night_start = '{from_night.isoformat()}'::TIMESTAMPTZ
              AND timestamp < '{night.start.isoformat()}'::TIMESTAMPTZ
        """, non_null_ints=("mmsi",), categorical_text=True)

    def partners(self, from_night: pd.Timestamp | None) -> dict[str, pd.DataFrame]:
        """The rows ``from_night`` kept for the paired detectors, by event type."""
        if from_night is None or not self._has("partners"):
            return {}
        rows = self.con.execute(
            "SELECT * EXCLUDE (night_start) FROM partners WHERE night_start = ? "
            "ORDER BY event_type, mmsi, start_time", [from_night]).df()
        return {str(t): part.drop(columns="event_type").reset_index(drop=True)
                for t, part in rows.groupby("event_type", sort=True)}

    def partner_pings(self, from_night: pd.Timestamp | None, event_ids: list[str]
                      ) -> pd.DataFrame:
        """The pings ``from_night`` kept with its ``partners`` rows ``event_ids`` (an empty
        frame before the first night, or from a state written before they were kept)."""
        if from_night is None or not event_ids or not self._has("partner_pings"):
            return pd.DataFrame()
        return fetch_frame(self.con, f"""
            SELECT * EXCLUDE (night_start) FROM partner_pings
            WHERE night_start = '{from_night.isoformat()}'::TIMESTAMPTZ
              AND list_contains({_sql_list(event_ids)}, event_id)
            ORDER BY event_id, mmsi, timestamp""", non_null_ints=("mmsi",))

    def still(self, from_night: pd.Timestamp | None) -> pd.DataFrame:
        """The stationary pings by vessel and cell up to ``from_night`` (anchorages are
        learned from them and tonight's; :func:`ais.geography.anchorages.still`): an empty
        table before the first night."""
        from ais.geography.anchorages import add_still

        if from_night is None or not self._has("still"):
            return add_still()
        return add_still(self.con.execute(
            "SELECT * EXCLUDE (night_start) FROM still WHERE night_start = ?",
            [from_night]).df())

    def reported(self, since: pd.Timestamp) -> pd.DataFrame:
        """Events already reported that end at or after ``since`` (candidates to continue)."""
        return self.con.execute(
            "SELECT event_id, event_type, mmsi, other_mmsi, start_time, end_time, first_night "
            "FROM events WHERE end_time >= ? OR end_time IS NULL", [since]).df()

    # ------------------------------------------------------------------ writing a night
    def commit_night(self, run_id: int, night: Night | None, *, carry: pd.DataFrame | None,
                     events: pd.DataFrame, event_rows: list[str], event_pings: pd.DataFrame,
                     identities: pd.DataFrame | None, run: dict,
                     partners: pd.DataFrame | None = None,
                     still: pd.DataFrame | None = None,
                     partner_pings: pd.DataFrame | None = None,
                     partners_from: pd.Timestamp | None = None) -> None:
        """Replace tonight's carry, identities; upsert events and their pings; finish the run
        log row. One transaction: all of it or none of it.

        ``partner_pings``: the pings of the ``partners`` rows found tonight; the rows kept
        from an earlier night keep the pings ``partners_from`` (the night tonight's carry
        came from) stored with them, copied in the database (never read into the scan)."""
        con = self.con
        con.execute("BEGIN")
        try:
            ns = night.start if night is not None else None  # None: no usable ping tonight
            if carry is not None:
                _replace(con, "carry", carry.assign(night_start=ns), "night_start = ?", [ns])
                # a re-run or back-fill needs the carry of the night before; older ones go
                con.execute("DELETE FROM carry WHERE night_start < "
                            "(SELECT max(night_start) FROM carry) - to_days(?)",
                            [int(self.keep_carries_days)])
            if identities is not None:
                _replace(con, "identities", identities.assign(night_start=ns),
                         "night_start = ?", [ns])
            for table, rows in (("partners", partners), ("still", still)):
                if rows is None or not (len(rows) or self._has(table)):
                    continue
                _replace(con, table, rows.assign(night_start=ns), "night_start = ?", [ns])
                con.execute(f"DELETE FROM {table} WHERE night_start < "
                            f"(SELECT max(night_start) FROM {table}) - to_days(?)",
                            [int(self.keep_carries_days)])
            if partners is not None:
                self._keep_partner_pings(ns, partners, partner_pings, partners_from)
            if len(events):
                keys = events[["event_id", "event_type", "mmsi", "other_mmsi", "start_time",
                               "end_time", "anomaly_score", "first_night"]].assign(
                    last_night=ns, row_json=event_rows)
                con.register("_new_events", keys)
                # a later night knows more about an event than a back-filled earlier one
                con.execute("DELETE FROM events WHERE last_night <= ? AND event_id IN "
                            "(SELECT event_id FROM _new_events)", [ns])
                written = con.execute(
                    "INSERT INTO events BY NAME SELECT * FROM _new_events WHERE event_id NOT IN "
                    "(SELECT event_id FROM events) RETURNING event_id").df()
                con.unregister("_new_events")
                pings = event_pings[event_pings["event_id"].isin(written["event_id"])]
                if self._has("event_pings"):
                    con.register("_ids", written)
                    con.execute("DELETE FROM event_pings WHERE event_id IN "
                                "(SELECT event_id FROM _ids)")
                    con.unregister("_ids")
                _replace(con, "event_pings", pings, None, [])
            con.execute("""
                UPDATE runs SET status = 'ok', exit_code = ?, finished_at = ?,
                    night_start = ?, night_end = ?, carried_from_night = ?, rows_in = ?,
                    rows_out = ?, carried_pings = ?, candidates = ?, flagged = ?,
                    new_events = ?, continued_events = ?, seconds = ?, versions = ?, notes = ?
                WHERE run_id = ?""", [
                run["exit_code"], _now(), ns, night.end if night is not None else None,
                run["carried_from"],
                run["rows_in"], run["rows_out"], run["carried_pings"],
                json.dumps(run["candidates"]), run["flagged"], run["new"], run["continued"],
                json.dumps(run["seconds"]), json.dumps(run["versions"]),
                "\n".join(run["notes"]), run_id])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _keep_partner_pings(self, ns: pd.Timestamp, partners: pd.DataFrame,
                            pings: pd.DataFrame | None, partners_from: pd.Timestamp | None
                            ) -> None:
        """Tonight's ``partner_pings``: those of the rows found tonight (``pings``) and, for
        the rows kept from ``partners_from``, the pings stored with them that night; older
        nights pruned as the ``partners`` rows are."""
        con = self.con
        pings = pings if pings is not None else pd.DataFrame()
        if len(pings):
            _replace(con, "partner_pings", pings.assign(night_start=ns), "night_start = ?",
                     [ns])
        elif self._has("partner_pings"):
            con.execute("DELETE FROM partner_pings WHERE night_start = ?", [ns])
        else:  # nothing kept yet, nothing to keep
            return
        ids = partners["event_id"] if len(partners) else pd.Series(dtype=str)
        earlier = ids[~ids.isin(pings["event_id"] if len(pings) else [])].drop_duplicates()
        if partners_from is not None and len(earlier):
            con.register("_kept_ids", pd.DataFrame({"event_id": earlier.astype(str)}))
            con.execute("INSERT INTO partner_pings BY NAME SELECT * REPLACE (? AS night_start) "
                        "FROM partner_pings WHERE night_start = ? AND event_id IN "
                        "(SELECT event_id FROM _kept_ids)", [ns, partners_from])
            con.unregister("_kept_ids")
        con.execute("DELETE FROM partner_pings WHERE night_start < "
                    "(SELECT max(night_start) FROM partner_pings) - to_days(?)",
                    [int(self.keep_carries_days)])

    # ------------------------------------------------------------------ reading for analysts
    def events(self, event_ids: list[str] | None = None) -> pd.DataFrame:
        """Reported events as CSV-shaped rows (plus first/last night), best score first."""
        where, args = "", []
        if event_ids is not None:
            where, args = "WHERE list_contains(?, event_id)", [list(event_ids)]
        rows = list(self.con.execute(
            f"SELECT row_json, first_night, last_night FROM events {where} "
            "ORDER BY anomaly_score DESC, event_id", args).df().itertuples(index=False))
        frame = pd.DataFrame([json.loads(r[0]) for r in rows])
        if len(frame):
            frame["first_night"] = [r[1] for r in rows]
            frame["last_night"] = [r[2] for r in rows]
        return frame

    def port_calls(self) -> pd.DataFrame:
        """Every stored port-call row (CSV-shaped): the legs of the routes (ais.nightly.routes)."""
        try:
            rows = self.con.execute("SELECT row_json FROM events WHERE event_type = "
                                    "'port_call' ORDER BY start_time, event_id").fetchall()
        except duckdb.Error as exc:  # a damaged file can open and fail on a later read
            raise StateError(f"{self.path}: not a usable state database ({exc}); move it "
                             "aside to start a fresh state") from exc
        return pd.DataFrame([json.loads(r[0]) for r in rows])

    def event_pings(self, event_ids: list[str]) -> pd.DataFrame:
        if not self._has("event_pings"):
            return pd.DataFrame()
        return fetch_frame(self.con, "SELECT * FROM event_pings WHERE list_contains("
                           f"{_sql_list(event_ids)}, event_id) ORDER BY event_id, mmsi, "
                           "timestamp", non_null_ints=("mmsi",))

    def history(self, mmsi: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """A vessel's identities over time and the events it took part in."""
        idents = self.con.execute("""
            SELECT name, callsign, imo, ship_type, min(first_seen) AS first_seen,
                   max(last_seen) AS last_seen, sum(pings) AS pings,
                   count(DISTINCT night_start) AS nights
            FROM identities WHERE mmsi = ? GROUP BY ALL ORDER BY first_seen""",
                                  [mmsi]).df()
        events = self.con.execute("""
            SELECT event_id, event_type, mmsi, other_mmsi, start_time, end_time, anomaly_score,
                   first_night, last_night, row_json
            FROM events WHERE mmsi = ? OR other_mmsi = ? ORDER BY start_time, event_id""",
                                  [mmsi, mmsi]).df()
        return idents, events


def _state_memory() -> str:
    """:data:`STATE_MEMORY`, or the scan's ``--memory-limit`` when that is smaller."""
    scan = scoped_memory_limit()
    if scan is not None and memory_bytes(scan) < memory_bytes(STATE_MEMORY):
        return scan
    return STATE_MEMORY


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + str(i).replace("'", "''") + "'" for i in items) + "]"


def _ident(name: str) -> str:
    """``name`` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _null_column_type(column: str) -> str:
    """The SQL type a column with no value in it is given (:data:`NULL_COLUMN_TYPES`, else
    text)."""
    return NULL_COLUMN_TYPES.get(column, "VARCHAR")


def _typed_columns(con: duckdb.DuckDBPyConnection, relation: str, frame: pd.DataFrame) -> str:
    """The select list of every column of ``relation`` (registered from ``frame`` or its
    first rows), those with no value in ``frame`` cast to the type they mean: those named in
    :data:`NULL_COLUMN_TYPES`, and any DuckDB types NULL (an all-null object or categorical
    column of pandas)."""
    untyped = [name for name, typ, *_ in con.execute(
        f"DESCRIBE SELECT * FROM {relation}").fetchall()
        if typ.strip('"') == "NULL" or (name in NULL_COLUMN_TYPES
                                        and not frame[name].notna().any())]
    if not untyped:
        return "*"
    return "* REPLACE (" + ", ".join(
        f"CAST({_ident(c)} AS {_null_column_type(c)}) AS {_ident(c)}" for c in untyped) + ")"


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                            [table]).fetchall()[0][0])


#: Rows of a frame written to the state at a time: text columns are decoded to plain strings
#: (:func:`ais.db.plain_text`) one chunk at a time, not for a whole night's carry at once.
WRITE_ROWS = 250_000


def _replace(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame,
             where: str | None, args: list) -> None:
    """Delete ``where`` rows of ``table`` and insert ``frame`` by column name (creating the
    table from the frame's columns the first time, a column with no value in it as the type
    it means, :func:`_typed_columns`), :data:`WRITE_ROWS` rows at a time when every column is
    typed (an object column's SQL type comes from its values: in one go)."""
    typed = not any(frame[c].dtype == object for c in frame.columns)
    if not _table_exists(con, table):
        con.register("_frame", plain_text(frame.iloc[:0] if typed else frame))
        con.execute(f"CREATE TABLE {table} AS SELECT {_typed_columns(con, '_frame', frame)} "
                    "FROM _frame LIMIT 0")
        con.unregister("_frame")
    if where:
        con.execute(f"DELETE FROM {table} WHERE {where}", args)
    step = WRITE_ROWS if typed else max(len(frame), 1)
    for at in range(0, len(frame), step):
        con.register("_frame", plain_text(frame.iloc[at:at + step]))
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _frame")
        con.unregister("_frame")
