"""A PNG map of one flagged event: its vessels' tracks around it, on land and sea.

Land is shaded and the coastline drawn from the land grid we ship (GLOBE 30-arc-second,
about 1 km, via :mod:`ais.geography.land`). On it: positions coloured by time (a time legend on
every
map, the thumbnail's included), earlier positions drawn larger than later ones so that a
vessel coming back along its own outbound leg leaves both legs visible; each vessel's track
as a line (the partner in another marker style), silences longer than the segment gap drawn
dashed from the last ping before to the first after (labels placed so they never overlap),
watch-area circles, ports (:func:`map_places`), anchorages and reported transfer sites that
fall in the view, the event's location, a km scale bar. Axes read 100.4°W / 38.6°N, with the
aspect corrected for latitude (a km is as long east-west as north-south). Matplotlib's object
API with the Agg canvas: no pyplot state, no display.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from ais.config import Config, TrackConfig
from ais.geography.geo import KM_PER_DEG, destination
from ais.geography.places import Place
from ais.views.output import atomic_path
from ais.views.triage import as_event, as_pings, pings_for, vessels_of

#: Silences longer than this are drawn dashed (the track builder's segment gap).
GAP_H = TrackConfig.gap_h
#: The view is at least this many km across, so a vessel at anchor is not a dot.
MIN_VIEW_KM = 4.0
_SCALE_STEPS_KM = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500)
_PLACE_STYLE = {  # marker, colour, label in the legend
    "port": ("s", "#1f3b73", "port"),
    "anchorage": ("D", "#2c7fb8", "anchorage"),
    "sts_site": ("X", "#b2182b", "reported STS site"),
}
_VESSEL_STYLE = ({"marker": "o", "line": "#333333"}, {"marker": "^", "line": "#a6611a"})
_CMAP = "viridis"
_GAP_COLOUR = "#d7301f"
_AREA_COLOUR = "#7570b3"
_HANDOVER_COLOUR = "#e7298a"
_SEA_COLOUR = "#dceaf4"
_LAND_COLOUR = "#ebe6d6"
_COAST_COLOUR = "#8a8470"
#: At most this many land-grid samples across the view (the grid's own 1 km when finer).
_LAND_SAMPLES = 500
#: Marker area of the first and the last ping of the view (points^2), full map / thumbnail:
#: earlier pings larger, so a leg sailed back over an earlier one leaves both visible.
_PING_SIZE = {False: (46.0, 10.0), True: (22.0, 4.0)}


def _plain(text: object) -> str:
    """Text safe for matplotlib: a vessel called ``$\\frac`` must not reach mathtext."""
    return str(text).replace("$", r"\$")


def _circle(lat: float, lon: float, radius_km: float, n: int = 181
            ) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat of a circle on the sphere (great-circle destination points)."""
    lat2, lon2 = destination(lat, lon, np.linspace(0, 360, n), radius_km)
    return lon2, lat2


def _view(lats: np.ndarray, lons: np.ndarray, ratio: float
          ) -> tuple[float, float, float, float, float]:
    """(lon0, lon1, lat0, lat1, kx): a padded box around the points whose shape in km is
    ``ratio`` (width / height); kx is km per degree of longitude at its centre."""
    lat_c = (np.nanmin(lats) + np.nanmax(lats)) / 2
    kx = KM_PER_DEG * math.cos(math.radians(lat_c))
    w = max((np.nanmax(lons) - np.nanmin(lons)) * kx * 1.15, MIN_VIEW_KM)
    h = max((np.nanmax(lats) - np.nanmin(lats)) * KM_PER_DEG * 1.15, MIN_VIEW_KM)
    w, h = max(w, h * ratio), max(h, w / ratio)
    lon_c = (np.nanmin(lons) + np.nanmax(lons)) / 2
    return (lon_c - w / kx / 2, lon_c + w / kx / 2,
            lat_c - h / KM_PER_DEG / 2, lat_c + h / KM_PER_DEG / 2, kx)


def _scale_bar(ax, view: tuple[float, float, float, float, float], fontsize: float,
               right: bool = False) -> None:
    lon0, lon1, lat0, lat1, kx = view
    width_km = (lon1 - lon0) * kx
    km = max([s for s in _SCALE_STEPS_KM if s <= width_km / 4] or [_SCALE_STEPS_KM[0]])
    x0 = lon0 + (lon1 - lon0) * 0.05 if not right else lon1 - (lon1 - lon0) * 0.05 - km / kx
    y0 = lat0 + (lat1 - lat0) * 0.05
    x1 = x0 + km / kx
    ax.plot([x0, x1], [y0, y0], color="black", linewidth=2.5, solid_capstyle="butt", zorder=7)
    label = f"{km:g} km"
    ax.text((x0 + x1) / 2, y0 + (lat1 - lat0) * 0.015, label, ha="center", va="bottom",
            fontsize=fontsize, zorder=7,
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


def _gaps(p: pd.DataFrame) -> list[tuple[pd.Series, pd.Series, float]]:
    """(last ping before, first ping after, hours) of each silence longer than GAP_H."""
    out = []
    for _, seg in p.groupby("track", sort=False):
        dt_h = seg["timestamp"].diff().dt.total_seconds().to_numpy() / 3600
        for i in np.flatnonzero(dt_h > GAP_H):  # loop over silences, not pings
            out.append((seg.iloc[i - 1], seg.iloc[i], float(dt_h[i])))
    return out


#: Offsets (points) tried in turn for a label that would overlap one placed before it.
_LABEL_OFFSETS = [(0, 0)] + [(0, d * k) for k in range(1, 7) for d in (12, -12)] + [
    (dx, dy) for dx in (-60, 60) for dy in (0, 12, -12, 24, -24)]


def _place_labels(ax, labels: list[tuple[float, float, str]], fs: float) -> None:
    """Annotate each (lon, lat, text) at its point, moved (with a leader line) to the first
    offset where its box overlaps no label placed before it."""
    if not labels:
        return
    renderer = ax.figure.canvas.get_renderer()
    placed: list = []  # window extents (Bbox) of the labels placed so far
    for x, y, text in labels:
        note = None
        for dx, dy in _LABEL_OFFSETS:
            note = ax.annotate(
                text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fs,
                color=_GAP_COLOUR, ha="center", va="center", zorder=7,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
                arrowprops=None if (dx, dy) == (0, 0) else {
                    "arrowstyle": "-", "color": _GAP_COLOUR, "linewidth": 0.6})
            box = Text.get_window_extent(note, renderer).expanded(1.05, 1.1)
            if not any(box.overlaps(other) for other in placed):
                placed.append(box)
                break
            note.remove()
        else:  # nowhere free: keep it at the point
            note = ax.annotate(text, (x, y), fontsize=fs, color=_GAP_COLOUR, ha="center",
                               va="center", zorder=7)


def _vessel_label(ev: pd.Series, prefix: str, mmsi: int, p: pd.DataFrame) -> str:
    name = ev.get(prefix + "vessel_name")
    if (name is None or pd.isna(name) or not str(name).strip()) and "name" in p.columns \
            and p["name"].notna().any():
        name = p["name"].mode(dropna=True).iloc[0]
    name = "" if name is None or pd.isna(name) else str(name).strip()
    return f"{name} ({mmsi})" if name else str(mmsi)


def _title(ev: pd.Series, labels: list[str]) -> str:
    start = ev["start_time"].strftime("%Y-%m-%d %H:%M")
    if pd.isna(ev.get("end_time")):
        when = f"from {start} UTC, still open at the end of the data"
    else:
        same_day = ev["end_time"].date() == ev["start_time"].date()
        when = f"{start} - {ev['end_time'].strftime('%H:%M' if same_day else '%Y-%m-%d %H:%M')}"
        when += " UTC"
    score = pd.to_numeric(ev.get("anomaly_score"), errors="coerce")
    head = f"{ev['event_type']} {ev['event_id']}"
    if pd.notna(score):
        head += f"  score {score:.2f}"
    who = " + ".join(labels)
    return f"{head}\n{who}\n{when} ({float(ev['duration_h']):.1f} h)"


def _handover(ev: pd.Series, p: pd.DataFrame, vessels: list[int]
              ) -> tuple[pd.Series, pd.Series] | None:
    """(last ping of the previous MMSI, first ping of the new one) of an MMSI change."""
    if ev["event_type"] != "identity_change" or len(vessels) < 2:
        return None
    end = ev["end_time"] if pd.notna(ev.get("end_time")) else ev["start_time"]
    old = p[(p["mmsi"] == vessels[1]) & (p["timestamp"] <= end)]
    new = p[(p["mmsi"] == vessels[0]) & (p["timestamp"] >= ev["start_time"])]
    if old.empty or new.empty:
        return None
    return old.iloc[-1], new.iloc[0]


def _ping_sizes(times: np.ndarray, tlim: tuple[float, float], small: bool) -> np.ndarray:
    """Marker areas shrinking with time: the first ping of the view largest, the last
    smallest, so a later leg drawn over an earlier one leaves a ring of the earlier colour."""
    big, little = _PING_SIZE[small]
    span = tlim[1] - tlim[0]
    frac = (times - tlim[0]) / span if span > 0 else np.zeros(len(times))
    return big - (big - little) * np.clip(frac, 0, 1)


def _draw_tracks(ax, ev: pd.Series, p: pd.DataFrame, vessels: list[int], times: np.ndarray,
                 tlim: tuple[float, float], small: bool, fs: float, notes: bool):
    """Each vessel's segments as lines, its pings coloured by time (earlier pings larger
    and drawn first, so both legs of an out-and-back show), silences dashed, the event's
    star. Returns the last scatter (for the colour bar)."""
    scatter = None
    gap_labels: list[tuple[float, float, str]] = []
    for i, mmsi in enumerate(vessels):
        style = _VESSEL_STYLE[min(i, 1)]
        mine = (p["mmsi"] == mmsi).to_numpy()
        v = p[mine]
        for _, seg in v.groupby(["track", "segment"], sort=False):
            ax.plot(seg["lon"], seg["lat"], color=style["line"], linewidth=0.8 if small else 1.1,
                    alpha=0.7, zorder=2)
        t = times[mine]
        order = np.argsort(t, kind="stable")
        scatter = ax.scatter(v["lon"].to_numpy()[order], v["lat"].to_numpy()[order],
                             c=t[order], s=_ping_sizes(t[order], tlim, small), cmap=_CMAP,
                             vmin=tlim[0], vmax=tlim[1], marker=style["marker"],
                             linewidths=0 if small else 0.3, edgecolors=style["line"],
                             zorder=3)
        for a, b, hours in _gaps(v):
            ax.plot([a["lon"], b["lon"]], [a["lat"], b["lat"]], color=_GAP_COLOUR,
                    linestyle=(0, (4, 3)), linewidth=1.4 if small else 2.0, zorder=5)
            if notes and hours >= 2:
                gap_labels.append(((a["lon"] + b["lon"]) / 2, (a["lat"] + b["lat"]) / 2,
                                   f"dark {hours:.1f} h"))
        if notes and len(v) and i == 0 and bool(ev.get("is_open")) \
                and ev["event_type"] == "dark_period":
            last = v.iloc[-1]
            lon0, lon1 = ax.get_xlim()
            right = (last["lon"] - lon0) / (lon1 - lon0) > 0.5
            ax.annotate("silent from here\nto the end of the data", (last["lon"], last["lat"]),
                        xytext=(-14 if right else 14, 4), textcoords="offset points",
                        ha="right" if right else "left", va="bottom", fontsize=fs,
                        color=_GAP_COLOUR, zorder=7)
    _place_labels(ax, gap_labels, fs)
    handover = _handover(ev, p, vessels)
    if handover is not None:
        a, b = handover
        ax.plot([a["lon"], b["lon"]], [a["lat"], b["lat"]], color=_HANDOVER_COLOUR,
                linestyle=(0, (1, 2)), linewidth=1.6, zorder=5)
    ax.plot(float(ev["lon"]), float(ev["lat"]), marker="*", markersize=14 if small else 22,
            markerfacecolor="none", markeredgecolor=_GAP_COLOUR, markeredgewidth=1.5,
            linestyle="none", zorder=8)
    return scatter


def _area_outlines(area) -> list[tuple[np.ndarray, np.ndarray]]:
    """(lons, lats) of each ring of a watch area: its circle, or every outer ring and hole
    of its polygons."""
    if area.geometry is None:
        return [_circle(area.lat, area.lon, area.radius_km, n=721)]
    polygons = getattr(area.geometry, "geoms", [area.geometry])
    rings = [r for p in polygons for r in (p.exterior, *p.interiors)]
    return [(np.asarray(x), np.asarray(y)) for x, y in (r.xy for r in rings)]


def _draw_context(ax, cfg: Config, view: tuple[float, float, float, float, float],
                  small: bool, fs: float) -> list[Line2D]:
    """Watch areas and the places inside the view; returns their legend entries."""
    lon0, lon1, lat0, lat1, _ = view
    legend = []
    in_view = False
    for area in cfg.areas:
        for xs, ys in _area_outlines(area):
            ax.plot(xs, ys, color=_AREA_COLOUR, linewidth=1.2, linestyle=(0, (6, 3)), zorder=1)
            in_view |= bool(np.any((xs >= lon0) & (xs <= lon1) & (ys >= lat0) & (ys <= lat1)))
    if in_view:
        legend.append(Line2D([], [], color=_AREA_COLOUR, linestyle=(0, (6, 3)),
                             label="watch area"))
    seen = set()
    labelled: list[tuple[float, float]] = []  # label positions as fractions of the view
    order = {"port": 0, "sts_site": 1, "anchorage": 2}
    for place in sorted(map_places(cfg, view), key=lambda pl: order.get(pl.kind, 3)):
        marker, colour, kind = _PLACE_STYLE.get(place.kind, ("P", "gray", place.kind))
        xs, ys = _circle(place.lat, place.lon, place.radius_km)
        ax.fill(xs, ys, color=colour, alpha=0.07, zorder=1)
        ax.plot(xs, ys, color=colour, linewidth=0.6, alpha=0.5, zorder=1)
        ax.plot(place.lon, place.lat, marker=marker, color=colour, markersize=fs * 0.9,
                linestyle="none", zorder=4)
        fx, fy = (place.lon - lon0) / (lon1 - lon0), (place.lat - lat0) / (lat1 - lat0)
        crowded = any(abs(fx - x) < 0.2 and abs(fy - y) < 0.05 for x, y in labelled)
        if not small and not crowded:
            labelled.append((fx, fy))
            below = place.kind != "port"
            ax.annotate(_plain(place.name), (place.lon, place.lat),
                        xytext=(0, -9 if below else 6), textcoords="offset points",
                        ha="center", va="top" if below else "bottom", fontsize=fs - 2,
                        color=colour, zorder=7)
        if place.kind not in seen:
            seen.add(place.kind)
            legend.append(Line2D([], [], marker=marker, color=colour, linestyle="none",
                                 label=kind))
    return legend


#: At most this many ports of the global table are marked on one map (the nearest to its
#: centre): a view of a busy coast would otherwise be all markers.
MAX_TABLE_PORTS = 30


def map_places(cfg: Config, view: tuple[float, float, float, float, float]
               ) -> list[Place]:
    """The ports, anchorages and reported transfer sites to mark inside the view: the one
    place where the map looks them up. The configured places first (Nampo, Najin, their
    anchorages, Sok-to, ...), then the ports of the global table (:mod:`ais.geography.ports`, unless
    ``[ports] table = false``) that lie in the view and are not a configured port already
    (same name, or within 2 km)."""
    lon0, lon1, lat0, lat1, kx = view
    mine = [pl for pl in cfg.places if lon0 <= pl.lon <= lon1 and lat0 <= pl.lat <= lat1]
    if not getattr(getattr(cfg, "ports", None), "table", False):
        return mine
    from ais.geography.ports import port_table

    t = port_table()
    t = t[(t["lon"] >= lon0) & (t["lon"] <= lon1) & (t["lat"] >= lat0) & (t["lat"] <= lat1)]
    if t.empty:
        return mine
    configured = [pl for pl in cfg.places if pl.kind == "port"]
    names = {pl.name.strip().lower() for pl in configured}
    keep = ~t["name"].str.strip().str.lower().isin(names)
    for pl in configured:
        km = np.hypot((t["lon"] - pl.lon) * kx, (t["lat"] - pl.lat) * KM_PER_DEG)
        keep &= km > 2.0
    t = t[keep]
    lon_c, lat_c = (lon0 + lon1) / 2, (lat0 + lat1) / 2
    centre_km = np.hypot((t["lon"] - lon_c) * kx, (t["lat"] - lat_c) * KM_PER_DEG)
    t = t.assign(_d=centre_km).sort_values("_d", kind="stable").head(MAX_TABLE_PORTS)
    zone = float(cfg.ports.zone_km)
    return mine + [Place(str(r.name), "port", float(r.lat), float(r.lon),
                         float(r.radius_km) if pd.notna(r.radius_km) else zone,
                         str(r.source), float(r.uncertainty_km))
                   for r in t.itertuples(index=False)]


def land_grid(view: tuple[float, float, float, float, float]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(lons, lats, land) sampled over the view from the shipped land grid: about 1 where
    the ~1 km cell is land, 0 at sea. None when the grid is not installed.

    Between 200 and ``_LAND_SAMPLES`` samples a side: a view a few km across samples each
    1 km cell several times; the samples are then smoothed over about one cell, so the
    coastline drawn at 0.5 rounds the cells' corners instead of showing a staircase."""
    from scipy.ndimage import gaussian_filter

    from ais.geography.land import is_land

    lon0, lon1, lat0, lat1, _ = view
    step = 1 / 120  # the grid's own resolution
    cells_x, cells_y = (lon1 - lon0) / step, (lat1 - lat0) / step
    nx = int(np.clip(cells_x * 3, 200, _LAND_SAMPLES)) + 1
    ny = int(np.clip(cells_y * 3, 200, _LAND_SAMPLES)) + 1
    lons = np.linspace(lon0, lon1, nx)
    lats = np.linspace(lat0, lat1, ny)
    glon, glat = np.meshgrid(((lons + 180) % 360) - 180, lats)
    try:
        land = is_land(glat.ravel(), glon.ravel()).reshape(glat.shape).astype(float)
    except (ModuleNotFoundError, OSError, ValueError):
        return None
    per_cell = (nx / max(cells_x, 1e-9), ny / max(cells_y, 1e-9))  # samples per 1 km cell
    sigma = (0.6 * per_cell[1], 0.6 * per_cell[0])
    if min(sigma) >= 0.3:  # a wide view samples cells sparsely: nothing to round off
        land = gaussian_filter(land, sigma=sigma, mode="nearest")
    return lons, lats, land


def _draw_land(ax, view: tuple[float, float, float, float, float], small: bool) -> bool:
    """Land shaded and the coastline drawn; True when the view holds any land."""
    grid = land_grid(view)
    if grid is None or not (grid[2] >= 0.5).any():
        return False
    lons, lats, land = grid
    if (land >= 0.5).all():
        ax.add_patch(_full_patch(view))
        return True
    ax.contourf(lons, lats, land, levels=[0.5, 2.0], colors=[_LAND_COLOUR], zorder=0.5)
    ax.contour(lons, lats, land, levels=[0.5], colors=[_COAST_COLOUR],
               linewidths=0.5 if small else 0.7, zorder=0.6)
    return True


def _full_patch(view: tuple[float, float, float, float, float]):
    from matplotlib.patches import Rectangle

    lon0, lon1, lat0, lat1, _ = view
    return Rectangle((lon0, lat0), lon1 - lon0, lat1 - lat0, color=_LAND_COLOUR, zorder=0.5)


def _degrees(value: float, positive: str, negative: str, step: float) -> str:
    """38.6°N, 100.4°W: as many decimals as the tick step needs."""
    digits = max(0, min(4, -int(math.floor(math.log10(step))))) if step > 0 else 2
    text = f"{abs(value):.{digits}f}"
    if abs(float(text)) == 0:
        return f"{text}°"
    return f"{text}°{positive if value > 0 else negative}"


def _lon_text(value: float, step: float = 0.1) -> str:
    wrapped = ((value + 180) % 360) - 180
    return _degrees(wrapped, "E", "W", step)


def _lat_text(value: float, step: float = 0.1) -> str:
    return _degrees(value, "N", "S", step)


class _DegreeFormatter(mticker.Formatter):
    """Tick labels as 100.4°W or 38.6°N, with the decimals the tick step needs."""

    def __init__(self, axis: str) -> None:
        self.axis_name = axis
        self.ticks: list[float] = []

    def set_locs(self, locs) -> None:  # noqa: ANN001 (matplotlib's signature)
        self.ticks = [float(v) for v in locs]

    def __call__(self, x: float, pos: int | None = None) -> str:
        step = float(np.min(np.abs(np.diff(self.ticks)))) if len(self.ticks) > 1 else 0.1
        return _lon_text(x, step) if self.axis_name == "x" else _lat_text(x, step)


def _frame(ax, view: tuple[float, float, float, float, float], fs: float,
           ticks: bool, small: bool = False) -> None:
    lon0, lon1, lat0, lat1, kx = view
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect(KM_PER_DEG / kx, adjustable="box")
    ax.set_facecolor(_SEA_COLOUR)
    if _draw_land(ax, view, small) and ticks:
        ax.text(0.995, 0.005, "land: GLOBE 30\u2033 grid (~1 km)", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=fs - 3, color="#6b6655", zorder=7)
    _scale_bar(ax, view, fs)
    if ticks:
        ax.tick_params(labelsize=fs - 1)
        ax.xaxis.set_major_locator(mticker.MaxNLocator(6))
        ax.yaxis.set_major_locator(mticker.MaxNLocator(7))
        ax.xaxis.set_major_formatter(_DegreeFormatter("x"))
        ax.yaxis.set_major_formatter(_DegreeFormatter("y"))
        ax.grid(color="white", linewidth=0.8, alpha=0.8)
    else:
        ax.set_xticks([])
        ax.set_yticks([])


def _event_pings(ev: pd.Series, p: pd.DataFrame, pad_h: float = 0.5) -> pd.DataFrame:
    end = ev["end_time"] if pd.notna(ev.get("end_time")) else ev["start_time"]
    pad = pd.Timedelta(hours=pad_h)
    return p[(p["timestamp"] >= ev["start_time"] - pad) & (p["timestamp"] <= end + pad)]


def _quiet_corner(p: pd.DataFrame, view: tuple[float, float, float, float, float]) -> int:
    """Which corner (1 lower-right, 2 upper-left, 3 upper-right) of the view holds the
    fewest pings: the inset goes there."""
    lon0, lon1, lat0, lat1, _ = view
    x = (p["lon"].to_numpy(float) - lon0) / (lon1 - lon0)
    y = (p["lat"].to_numpy(float) - lat0) / (lat1 - lat0)
    counts = [len(x) + 1]  # never the lower left: the scale bar is there
    for corner in range(1, 4):
        in_x = x > 0.55 if corner % 2 else x < 0.45
        in_y = y > 0.55 if corner // 2 else y < 0.45
        counts.append(int(np.sum(in_x & in_y)))
    return int(np.argmin(counts))


def event_map(event: pd.Series, pings: pd.DataFrame, cfg: Config | None = None,
              path: str | Path | None = None, small: bool = False) -> bytes:
    """Draw the event's map and return it as PNG bytes (also written to ``path`` atomically).

    When the event itself (its pings from half an hour before to half an hour after) covers
    a small part of the view, the full-size map adds an inset zoomed on it, so a meeting of
    two ships is visible next to the day they sailed.

    Args:
        event: one flagged event (a row of the scan's frame or of the CSV).
        pings: the track rows of its vessel(s) around it (only this event's rows are used when
            the frame has an ``event_id`` column).
        cfg: watch areas and places to draw (the defaults when None).
        path: where to write the PNG, if anywhere.
        small: a thumbnail (for the HTML report): no colour bar, legend, labels or inset.
    """
    cfg = cfg or Config()
    ev = as_event(event)
    p = as_pings(pings_for(pings, ev["event_id"]))
    vessels = vessels_of(ev)
    p = p[p["mmsi"].isin(vessels)]

    fig = Figure(figsize=(3.4, 2.9) if small else (10.0, 7.6), dpi=100 if small else 110)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98) if small else (0.10, 0.08, 0.62, 0.77))
    fs = 6 if small else 9
    box = ax.get_position()
    ratio = (box.width * fig.get_figwidth()) / (box.height * fig.get_figheight())
    view = _view(np.append(p["lat"].to_numpy(float), float(ev["lat"])),
                 np.append(p["lon"].to_numpy(float), float(ev["lon"])), ratio)

    legend = _draw_context(ax, cfg, view, small, fs)
    times = (mdates.date2num(p["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
                             .to_numpy()) if len(p) else np.array([]))
    tlim = (float(times.min()), float(times.max())) if len(times) else (0.0, 1.0)
    _frame(ax, view, fs, ticks=not small, small=small)
    scatter = _draw_tracks(ax, ev, p, vessels, times, tlim, small, fs, notes=not small)

    labels = [_vessel_label(ev, "" if i == 0 else "other_", m, p[p["mmsi"] == m])
              for i, m in enumerate(vessels)]
    for i, label in enumerate(labels):
        style = _VESSEL_STYLE[min(i, 1)]
        legend.append(Line2D([], [], color=style["line"], marker=style["marker"],
                             markerfacecolor="#5ec962", label=_plain(label)))
    if any(_gaps(p[p["mmsi"] == m]) for m in vessels):
        legend.append(Line2D([], [], color=_GAP_COLOUR, linestyle=(0, (4, 3)),
                             label=f"silence > {GAP_H:g} h"))
    if _handover(ev, p, vessels) is not None:
        legend.append(Line2D([], [], color=_HANDOVER_COLOUR, linestyle=(0, (1, 2)),
                             label="MMSI handover"))
    legend.append(Line2D([], [], marker="*", markerfacecolor="none",
                         markeredgecolor=_GAP_COLOUR, linestyle="none", markersize=12,
                         label="event location"))

    if not small:
        ax.set_xlabel("longitude", fontsize=fs)
        ax.set_ylabel("latitude", fontsize=fs)
        ax.set_title(_plain(_title(ev, labels)), fontsize=fs + 1, loc="left")
        fig.legend(handles=legend, loc="upper left", bbox_to_anchor=(0.75, 0.46),
                   fontsize=fs - 1, frameon=False)
        if scatter is not None and len(times):
            cax = fig.add_axes((0.76, 0.50, 0.022, 0.35))
            bar = fig.colorbar(scatter, cax=cax)
            bar.locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
            bar.formatter = mdates.DateFormatter("%d %b %H:%M")
            bar.update_ticks()
            bar.ax.tick_params(labelsize=fs - 1)
            bar.set_label("time (UTC)", fontsize=fs)
        area = ev.get("area")
        if isinstance(area, str) and area:
            fig.text(0.76, 0.06, _plain(f"watch area: {area}"), fontsize=fs - 1)
        _inset(fig, ax, ev, p, vessels, times, tlim, view, fs)
    elif scatter is not None and len(times):
        _thumbnail_time_legend(fig, ax, scatter, tlim, p, view, fs)

    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    data = buf.getvalue()
    if path is not None:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    return data


def _thumbnail_time_legend(fig, ax, scatter, tlim: tuple[float, float], p: pd.DataFrame,
                           view: tuple[float, float, float, float, float], fs: float) -> None:
    """A small horizontal colour bar in the corner (upper left, upper right or lower right)
    with the fewest pings, its ends labelled with the first and last time (UTC): colour =
    time on the thumbnail too."""
    lon0, lon1, lat0, lat1, _ = view
    x = (p["lon"].to_numpy(float) - lon0) / (lon1 - lon0)
    y = (p["lat"].to_numpy(float) - lat0) / (lat1 - lat0)
    boxes = [(0.03, 0.86), (0.55, 0.86), (0.55, 0.10)]  # upper left, upper right, lower right

    def pings_under(b: tuple[float, float]) -> int:
        return int(np.sum((x > b[0] - 0.04) & (x < b[0] + 0.46) & (y > b[1] - 0.11)
                          & (y < b[1] + 0.13)))

    bx, by = min(boxes, key=pings_under)
    box = (bx, by, 0.42, 0.045)
    cax = ax.inset_axes(box)
    bar = fig.colorbar(scatter, cax=cax, orientation="horizontal")
    bar.set_ticks([tlim[0], tlim[1]])
    same_day = mdates.num2date(tlim[0]).date() == mdates.num2date(tlim[1]).date()
    fmt = "%H:%M" if same_day else "%d %b %H:%M"
    bar.set_ticklabels([mdates.num2date(t).strftime(fmt) for t in tlim])
    bar.ax.tick_params(labelsize=fs - 1, length=1.5, pad=1)
    bar.ax.xaxis.set_ticks_position("bottom")
    ticks = bar.ax.get_xticklabels()
    if len(ticks) == 2:
        ticks[0].set_ha("left")
        ticks[1].set_ha("right")
    bar.outline.set_linewidth(0.4)
    head = "time UTC" + ("" if not same_day else
                         f", {mdates.num2date(tlim[0]).strftime('%d %b')}")
    cax.set_title(head, fontsize=fs - 1, pad=1.5)
    cax.patch.set_alpha(0)
    from matplotlib.patches import Rectangle  # a plain patch: cheaper than another axes

    ax.add_patch(Rectangle((box[0] - 0.02, box[1] - 0.075), box[2] + 0.04, 0.14,
                           transform=ax.transAxes, facecolor="white", edgecolor="none",
                           alpha=0.75, zorder=9))
    cax.set_zorder(10)


def _inset(fig, ax, ev, p, vessels, times, tlim, view, fs) -> None:
    """A zoom on the event itself when it is small in the view."""
    near = _event_pings(ev, p)
    if near.empty or pd.isna(ev.get("end_time")):
        return
    lon0, lon1, _, _, kx = view
    lats = np.append(near["lat"].to_numpy(float), float(ev["lat"]))
    lons = np.append(near["lon"].to_numpy(float), float(ev["lon"]))
    extent_km = max((lons.max() - lons.min()) * kx, (lats.max() - lats.min()) * KM_PER_DEG)
    if extent_km > (lon1 - lon0) * kx / 5:
        return
    zoom = _view(lats, lons, 1.0)
    if (zoom[1] - zoom[0]) * zoom[4] > (lon1 - lon0) * kx / 3:
        return  # the map is already about as close as the zoom would be
    corner = _quiet_corner(p, view)
    x = 0.02 if corner % 2 == 0 else 0.60
    y = 0.02 if corner < 2 else 0.60
    inset = ax.inset_axes((x, y, 0.38, 0.38))
    _draw_tracks(inset, ev, p, vessels, times, tlim, False, fs - 1, notes=False)
    _frame(inset, zoom, fs - 1, ticks=False, small=True)
    inset.set_title("zoom on the event", fontsize=fs - 1, pad=2)
    ax.indicate_inset_zoom(inset, edgecolor="#444444")
