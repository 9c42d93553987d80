"""One self-contained HTML page for the night: run facts, then the ranked events, each with
its reason, unusual features and a small map.

Made to be opened from a mail attachment with no server: inline CSS, the maps as base64 PNG
data URIs, no scripts, no external resources, and a Content-Security-Policy that forbids
them anyway. Every piece of text is HTML-escaped (vessel names are whatever a transponder
sent).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping

import pandas as pd

from ais.config import Config
from ais.detectors import REGISTRY, other_role
from ais.views.maps import event_map
from ais.views.triage import as_events, is_missing, pings_for

#: Events beyond this rank are listed without a map (each map costs about 0.2 s).
MAX_MAPS = 100

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b;
       margin: 0 auto; max-width: 1100px; padding: 1.2em; background: #fafafa; }
h1 { font-size: 1.5em; margin: 0 0 .2em; }
h2 { font-size: 1.15em; margin: 1.4em 0 .5em; }
table.run { border-collapse: collapse; margin: .4em 0 1em; }
table.run th { text-align: left; padding: 2px 14px 2px 0; color: #555; font-weight: 600;
               vertical-align: top; white-space: nowrap; }
table.run td { padding: 2px 0; }
.counts span { display: inline-block; margin: 0 .5em .3em 0; padding: 2px 9px;
               border-radius: 10px; background: #e8e8e8; }
.event { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 12px 16px;
         background: #fff; border: 1px solid #ddd;
         border-left: 6px solid #999; border-radius: 4px; padding: 10px 12px;
         margin: 0 0 12px; page-break-inside: avoid; }
.event img { display: block; flex: 0 0 auto; width: 340px; max-width: 100%; height: auto;
             aspect-ratio: 340 / 290; object-fit: contain; align-self: flex-start;
             border: 1px solid #ccc; box-sizing: border-box; }
.event .nomap { width: 340px; max-width: 100%; flex: none; color: #777; font-style: italic; }
.event .body { flex: 1 1 280px; min-width: 0; }
@media (max-width: 600px) {
  body { padding: .5em; }
  .event { padding: 8px; border-left-width: 4px; }
  .event img { width: 100%; }
  dl { grid-template-columns: 1fr; }
  dt { margin-top: .3em; }
  table.run th { white-space: normal; }
}
.event h3 { margin: 0 0 .3em; font-size: 1.05em; }
.rank { color: #777; font-weight: normal; }
.score { display: inline-block; min-width: 3.2em; text-align: center; font-weight: 700;
         padding: 1px 6px; border-radius: 3px; color: #fff; background: #555; }
.reason { margin: .3em 0 .5em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 1px 12px; margin: 0;
     font-size: .93em; }
dt { color: #555; }
dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: .95em; }
footer { color: #777; font-size: .85em; margin-top: 2em; }
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _e(value: object) -> str:
    """Escaped text; missing values as an empty string."""
    return "" if is_missing(value) else html.escape(str(value), quote=True)


def _time(ts: object) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if isinstance(ts, pd.Timestamp) \
        and pd.notna(ts) else ""


def _run_value(value: object) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{_e(k)} {_e(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "<br>".join(_e(v) for v in value)
    return _e(value)


def _score_colour(score: float) -> str:
    if not score == score:  # NaN
        return "#777"
    return "#b2182b" if score >= 0.9 else "#d6604d" if score >= 0.75 else "#777"


def _vessel(ev: pd.Series, prefix: str) -> str:
    mmsi = ev.get("mmsi" if not prefix else "other_mmsi")
    parts = [f"MMSI {_e(mmsi)}"]
    name = _e(ev.get(prefix + "vessel_name"))
    if name:
        parts.insert(0, f"<b>{name}</b>")
    for label, col in (("flag", "flag"), ("IMO", "imo"), ("call sign", "callsign"),
                       ("type", "vessel_type")):
        value = _e(ev.get(prefix + col))
        if value:
            parts.append(f"{label} {value}")
    return " · ".join(parts)


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _type_css() -> str:
    """Each event type's card border in its detector's COLOUR."""
    return "".join(f".event.{t} {{ border-left-color: {d.COLOUR}; }}\n"
                   for t, d in REGISTRY.items())


def _card(rank: int, ev: pd.Series, image: bytes | None) -> str:
    score = float(ev.get("anomaly_score")) if pd.notna(ev.get("anomaly_score")) else float("nan")
    kind = _e(ev["event_type"])
    end = _time(ev.get("end_time")) or "still open at the end of the data"
    rows = [("vessel", _vessel(ev, ""))]
    if pd.notna(ev.get("other_mmsi")):
        rows.append((other_role(ev["event_type"]), _vessel(ev, "other_")))
    lat, lon = float(ev["lat"]), float(ev["lon"])
    where = (f"{abs(lat):.4f} {'N' if lat >= 0 else 'S'} "
             f"{abs(lon):.4f} {'E' if lon >= 0 else 'W'}")
    if _e(ev.get("area")):
        where += f", {_e(ev.get('area'))}"
    if pd.notna(ev.get("distance_to_port_km")) and _e(ev.get("nearest_port")):
        km = float(ev["distance_to_port_km"])
        where += f", {km:.0f} km from {_e(ev.get('nearest_port'))}"
    duration = float(ev["duration_h"])
    rows += [
        ("when", f"{_e(_time(ev['start_time']))} &rarr; {_e(end)} ({duration:.1f} h)"),
        ("where", where),
        ("context", _e(ev.get("context"))),
        ("unusual", "<br>".join(_e(part.strip()) for part in
                                str(ev.get("unusual_features") or "").split(";")
                                if part.strip() and part.strip() != "nan")),
        ("event id", f"<code>{_e(ev['event_id'])}</code>"
                     f" &nbsp; <code>ais show {_e(ev['event_id'])}</code>"),
    ]
    if str(ev.get("rule_decisive")).lower() in ("true", "1"):
        rows.append(("flagged by", "its rule alone (rule_decisive)"))
    if ev.get("status") == "continuing":
        rows.append(("status", "continuing: first reported on the night of "
                               f"{_e(str(ev.get('first_reported') or '')[:10])}"))
    details = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows if v)
    width, height = _png_size(image) if image is not None else (0, 0)
    picture = (f'<img alt="map of {_e(ev["event_id"])}" width="{width}" height="{height}" '
               f'style="aspect-ratio: {width} / {height}" src="data:image/png;base64,'
               f'{base64.b64encode(image).decode("ascii")}">' if image is not None
               else '<div class="nomap">no map (beyond the first '
                    f"{MAX_MAPS} events or no pings)</div>")
    score_text = f"{score:.2f}" if score == score else "?"
    return (f'<section class="event {kind}" id="{_e(ev["event_id"])}">{picture}'
            f'<div class="body"><h3><span class="rank">#{rank}</span> '
            f'<span class="score" style="background:{_score_colour(score)}">{score_text}'
            f"</span> {kind} &middot; {_e(ev.get('vessel_name')) or _e(ev.get('mmsi'))}</h3>"
            f'<p class="reason">{_e(ev.get("reason"))}</p><dl>{details}</dl></div></section>')


def render_report(events: pd.DataFrame, pings: pd.DataFrame, cfg: Config | None,
                  run_info: Mapping[str, object]) -> str:
    """The night's report as one HTML document.

    Args:
        events: flagged events (from a scan or read back from the CSV); ranked here by
            ``anomaly_score`` whatever their order.
        pings: track rows of the events' vessels with an ``event_id`` column
            (see :func:`ais.views.triage.event_pings`); events without pings get no map.
        cfg: watch areas and places for the maps (defaults when None).
        run_info: facts about the run shown in the header, in order (e.g. ``inputs``,
            ``data_window``, ``models``, ``counts``); values may be text, lists or dicts.
    """
    ev = as_events(events)
    if len(ev):
        ev = ev.sort_values(["anomaly_score", "event_id"], ascending=[False, True],
                            kind="stable").reset_index(drop=True)
    title = "AIS night report"
    window = run_info.get("data_window")
    if window:
        title += " · " + (" to ".join(map(str, window)) if isinstance(window, list | tuple)
                          else str(window))
    run_rows = "".join(f"<tr><th>{_e(str(k).replace('_', ' '))}</th><td>{_run_value(v)}</td>"
                       "</tr>" for k, v in run_info.items())
    counts = ev["event_type"].value_counts().sort_index() if len(ev) else pd.Series(dtype=int)
    chips = "".join(f"<span>{_e(k)} <b>{int(v)}</b></span>" for k, v in counts.items())
    cards = []
    for rank, (_, event) in enumerate(ev.iterrows(), start=1):  # loop over events
        mine = pings_for(pings, event["event_id"])
        image = event_map(event, mine, cfg, small=True) if rank <= MAX_MAPS and len(mine) \
            else None
        cards.append(_card(rank, event, image))
    body = "\n".join(cards) if cards else "<p>No events were flagged.</p>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}{_type_css()}</style>
</head>
<body>
<h1>{_e(title)}</h1>
<table class="run">{run_rows}</table>
<p class="counts"><span>flagged <b>{len(ev)}</b></span>{chips}</p>
<h2>Events, most anomalous first</h2>
{body}
<footer>anomaly_score: share of the baseline's candidates of the same type that were less
unusual (0..1). Maps: land shaded, positions coloured by time (dark early, yellow late; the
bar on each map gives the times), earlier positions drawn larger, the vessel as circles, a
partner or previous MMSI as triangles, silences dashed red, the event as a star, watch areas
dashed purple. <code>ais show EVENT_ID</code> tells each event's story with a full-size
map.</footer>
</body>
</html>
"""
