"""The night report in a real browser (headless Chromium) at a phone's, a mail preview pane's
and a desktop's width: every map keeps its aspect ratio and fits the page. Skipped when no
Chromium is installed (Debian: ``apt-get install chromium``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile

import pytest

from ais.views.report import render_report

from .flagged_events import nampo_flagged

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome", "chrome")
                if shutil.which(b)), None)

#: Appended to a copy of the page (the report itself runs no script and its CSP forbids
#: them): writes each map's rendered box into the DOM that --dump-dom prints.
_MEASURE = """<script>
window.addEventListener('load', () => {
  const out = [...document.querySelectorAll('.event img')].map(img => {
    const r = img.getBoundingClientRect();
    return {w: r.width, h: r.height, nw: img.naturalWidth, nh: img.naturalHeight,
            right: r.right};
  });
  const pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify({viewport: document.documentElement.clientWidth,
                                    scroll: document.documentElement.scrollWidth, imgs: out});
  document.body.appendChild(pre);
});
</script>"""


def measure(page: str, width: int) -> dict:
    """The rendered size of every map of ``page`` in a ``width`` px wide window."""
    page = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    page = page.replace("</body>", _MEASURE + "</body>")
    with tempfile.TemporaryDirectory() as tmp:
        html = f"{tmp}/report.html"
        with open(html, "w", encoding="utf-8") as fh:
            fh.write(page)
        done = subprocess.run(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={tmp}/profile", "--hide-scrollbars",
             f"--window-size={width},2000", "--virtual-time-budget=5000", "--dump-dom",
             f"file://{html}"], capture_output=True, text=True, timeout=120, check=True)
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


@pytest.mark.skipif(BROWSER is None, reason="no headless Chromium installed")
@pytest.mark.parametrize("width", [420, 800, 1400])
def test_report_maps_keep_their_aspect_and_fit_at(width):
    flagged = nampo_flagged()
    page = render_report(flagged.events.head(4), flagged.pings, flagged.cfg, {})
    got = measure(page, width)
    assert len(got["imgs"]) == 4
    assert got["scroll"] <= got["viewport"] + 1  # nothing wider than the window
    for img in got["imgs"]:
        natural = img["nw"] / img["nh"]
        assert img["w"] / img["h"] == pytest.approx(natural, rel=0.02)
        assert img["right"] <= got["viewport"] + 0.5
        assert img["w"] >= min(300, got["viewport"] * 0.6)  # not squeezed to a stamp
