"""``ais report``: one self-contained HTML page for the night, safe to open from a mail."""

from __future__ import annotations

import base64
import re
from html import escape
from html.parser import HTMLParser

import pandas as pd
import pytest

from ais.views.output import write_csv
from ais.views.report import render_report

from .flagged_events import nampo_flagged

HOSTILE = "<script>alert(1)</script>"


class _Page(HTMLParser):
    """Collects what the page would load or run."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.sections: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs["src"])
        for key in ("href", "src", "srcset", "action", "background"):
            if key in attrs and tag != "img":
                self.links.append(attrs[key])
        if tag == "section":
            self.sections.append(attrs["id"])


@pytest.fixture(scope="module")
def flagged():
    return nampo_flagged()


@pytest.fixture(scope="module")
def night(flagged):
    events = flagged.events.copy()
    events.loc[events.index[-1], "vessel_name"] = HOSTILE
    events = events.sample(frac=1.0, random_state=1)  # the report ranks them itself
    run_info = {"inputs": ["fixtures/nampo_day.parquet", f"evil{HOSTILE}.parquet"],
                "data_window": ["2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z"],
                "counts": {"pings": 35713, "flagged": len(events)}}
    return render_report(events, flagged.pings, flagged.cfg, run_info)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def test_events_are_ranked_by_score_with_a_png_map_each(flagged, night):
    page = _parse(night)
    ranked = flagged.events.sort_values(["anomaly_score", "event_id"],
                                        ascending=[False, True])["event_id"]
    assert page.sections == list(ranked)
    assert len(page.images) == len(flagged.events)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")


def test_each_event_shows_its_score_type_vessels_times_reason_and_features(flagged, night):
    for _, ev in flagged.events.iterrows():
        section = re.search(f'<section[^>]*id="{ev["event_id"]}".*?</section>', night,
                            re.S).group(0)
        assert f">{ev['anomaly_score']:.2f}<" in section
        assert ev["event_type"] in section
        assert str(ev["mmsi"]) in section
        if pd.notna(ev["other_mmsi"]):
            assert str(int(ev["other_mmsi"])) in section
        assert ev["start_time"].strftime("%Y-%m-%d %H:%M UTC") in section
        assert escape(ev["reason"]) in section
        for part in filter(None, ev["unusual_features"].split("; ")):
            assert escape(part) in section


def test_the_page_needs_nothing_from_outside_and_runs_no_script(night):
    page = _parse(night)
    assert "script" not in page.tags
    assert page.links == []
    assert "Content-Security-Policy" in night and "default-src 'none'" in night
    assert not re.search(r"url\(|@import|https?://", night.split("<body>")[0])


def test_hostile_vessel_names_and_inputs_are_escaped(night):
    assert HOSTILE not in night
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in night
    assert "evil&lt;script&gt;" in night


def test_run_info_is_in_the_header(night):
    header = night.split("<h2>")[0]
    assert "fixtures/nampo_day.parquet" in header
    assert "2026-01-05T00:00:00Z to 2026-01-06T00:00:00Z" in header
    assert "pings 35713" in header


def test_report_from_the_csv_and_without_pings(flagged, tmp_path):
    events = flagged.events.head(3)
    back = pd.read_csv(write_csv(events, tmp_path / "flagged.csv"))
    page = render_report(back, flagged.pings.iloc[:0], None, {})
    parsed = _parse(page)
    assert parsed.sections == list(events["event_id"])
    assert parsed.images == [] and page.count("no map") == 3


def test_a_quiet_night_says_so(flagged):
    page = render_report(flagged.events.iloc[:0], flagged.pings.iloc[:0], flagged.cfg,
                         {"inputs": ["day.parquet"]})
    assert "No events were flagged." in page
