"""A PNG map of one flagged event: its vessels' tracks around it, with the context we have.

There is no coastline data, so the context is ours: positions coloured by time, each
vessel's track as a line (the partner in another marker style), silences longer than the
segment gap drawn dashed from the last ping before to the first after, watch-area circles,
ports, anchorages and reported transfer sites that fall in the view, the event's location, a
km scale bar. Lon/lat axes with the aspect corrected for latitude (a km is as long east-west
as north-south). Matplotlib's object API with the Agg canvas: no pyplot state, no display.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ais.config import Config, TrackConfig
from ais.geo import KM_PER_DEG, destination
from ais.output import atomic_path
from ais.triage import as_event, as_pings, pings_for, vessels_of

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


def _draw_tracks(ax, ev: pd.Series, p: pd.DataFrame, vessels: list[int], times: np.ndarray,
                 tlim: tuple[float, float], small: bool, fs: float, notes: bool):
    """Each vessel's segments as lines, its pings coloured by time, silences dashed, the
    event's star. Returns the last scatter (for the colour bar)."""
    scatter = None
    for i, mmsi in enumerate(vessels):
        style = _VESSEL_STYLE[min(i, 1)]
        mine = (p["mmsi"] == mmsi).to_numpy()
        v = p[mine]
        for _, seg in v.groupby(["track", "segment"], sort=False):
            ax.plot(seg["lon"], seg["lat"], color=style["line"], linewidth=1.0 if small else 1.4,
                    alpha=0.8, zorder=2)
        scatter = ax.scatter(v["lon"], v["lat"], c=times[mine], cmap=_CMAP, vmin=tlim[0],
                             vmax=tlim[1], marker=style["marker"], s=8 if small else 18,
                             linewidths=0 if small else 0.3, edgecolors=style["line"],
                             zorder=3)
        for a, b, hours in _gaps(v):
            ax.plot([a["lon"], b["lon"]], [a["lat"], b["lat"]], color=_GAP_COLOUR,
                    linestyle=(0, (4, 3)), linewidth=1.4 if small else 2.0, zorder=5)
            if notes and hours >= 2:
                ax.annotate(f"dark {hours:.1f} h", ((a["lon"] + b["lon"]) / 2,
                                                    (a["lat"] + b["lat"]) / 2),
                            fontsize=fs, color=_GAP_COLOUR, ha="center", zorder=7,
                            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                                  "alpha": 0.8})
        if notes and len(v) and i == 0 and bool(ev.get("is_open")) \
                and ev["event_type"] == "dark_period":
            last = v.iloc[-1]
            lon0, lon1 = ax.get_xlim()
            right = (last["lon"] - lon0) / (lon1 - lon0) > 0.5
            ax.annotate("silent from here\nto the end of the data", (last["lon"], last["lat"]),
                        xytext=(-14 if right else 14, 4), textcoords="offset points",
                        ha="right" if right else "left", va="bottom", fontsize=fs,
                        color=_GAP_COLOUR, zorder=7)
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
    return [tuple(np.asarray(c) for c in r.xy) for r in rings]


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
    for place in sorted(cfg.places, key=lambda pl: order.get(pl.kind, 3)):
        if not (lon0 <= place.lon <= lon1 and lat0 <= place.lat <= lat1):
            continue
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


def _frame(ax, view: tuple[float, float, float, float, float], fs: float,
           ticks: bool) -> None:
    lon0, lon1, lat0, lat1, kx = view
    ax.set_xlim(lon0, lon1)
    ax.set_ylim(lat0, lat1)
    ax.set_aspect(KM_PER_DEG / kx, adjustable="box")
    ax.set_facecolor("#eef4f8")
    _scale_bar(ax, view, fs)
    if ticks:
        ax.tick_params(labelsize=fs - 1)
        ax.ticklabel_format(useOffset=False, style="plain")
        ax.grid(color="white", linewidth=0.8)
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
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98) if small else (0.08, 0.08, 0.64, 0.77))
    fs = 6 if small else 9
    box = ax.get_position()
    ratio = (box.width * fig.get_figwidth()) / (box.height * fig.get_figheight())
    view = _view(np.append(p["lat"].to_numpy(float), float(ev["lat"])),
                 np.append(p["lon"].to_numpy(float), float(ev["lon"])), ratio)

    legend = _draw_context(ax, cfg, view, small, fs)
    times = (mdates.date2num(p["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
                             .to_numpy()) if len(p) else np.array([]))
    tlim = (float(times.min()), float(times.max())) if len(times) else (0.0, 1.0)
    _frame(ax, view, fs, ticks=not small)
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
        ax.set_xlabel("longitude (°E)", fontsize=fs)
        ax.set_ylabel("latitude (°N)", fontsize=fs)
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

    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    data = buf.getvalue()
    if path is not None:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    return data


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
    corner = _quiet_corner(p, view)
    x = 0.02 if corner % 2 == 0 else 0.60
    y = 0.02 if corner < 2 else 0.60
    inset = ax.inset_axes((x, y, 0.38, 0.38))
    zoom = _view(lats, lons, 1.0)
    _draw_tracks(inset, ev, p, vessels, times, tlim, False, fs - 1, notes=False)
    _frame(inset, zoom, fs - 1, ticks=False)
    inset.set_title("zoom on the event", fontsize=fs - 1, pad=2)
    ax.indicate_inset_zoom(inset, edgecolor="#444444")
