"""``unusual_features``: a feature is listed only with a baseline reference its value breaks."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ais.judging.explain import unusual_features
from ais.judging.scoring import fit_type

FEATURES = ("in_port", "duration_h")


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(3)
    baseline = pd.DataFrame({"in_port": np.zeros(200),  # p1 = p99 = 0
                             "duration_h": rng.uniform(1.0, 10.0, 200)})
    return fit_type("loitering", FEATURES, baseline, seed=1)


def _listed(text: str) -> list[tuple[str, float, str, float]]:
    return [(m[1], float(m[2]), m[3], float(m[4])) for m in
            re.finditer(r"(\w+) ([-\d.]+) \(baseline (\w+) ([-\d.]+)\)", text)]


CASES = {
    "long_and_at_sea": ({"in_port": 0.0, "duration_h": 30.0}, {"duration_h"}),
    "a_zero_like_the_baseline_is_not_unusual": ({"in_port": 0.0, "duration_h": 5.0}, set()),
    "in_port_above_an_all_zero_baseline": ({"in_port": 1.0, "duration_h": 5.0}, {"in_port"}),
    "just_inside_the_tail": ({"in_port": 0.0, "duration_h": 9.7}, {"duration_h"}),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_only_features_that_break_the_reference_they_quote_are_listed(model, case):
    row, expected = CASES[case]
    text = unusual_features(pd.DataFrame([row]), model).iloc[0]
    listed = _listed(text)
    assert {name for name, *_ in listed} == expected, text
    for _name, value, ref_name, ref in listed:
        low = ref_name in ("min",) or (ref_name.startswith("p") and int(ref_name[1:]) <= 10)
        assert (value < ref) if low else (value > ref), text


def test_the_most_extreme_reference_broken_is_quoted(model):
    text = unusual_features(pd.DataFrame([{"in_port": 0.0, "duration_h": 30.0}]), model)
    assert "duration_h 30.00 (baseline max " in text.iloc[0]


def test_a_value_equal_to_the_reference_is_never_quoted_as_breaking_it():
    """Mostly in port in the baseline, a few at sea: in_port 0 is rare, but the baseline's
    p1 is 0 itself, so 'in_port 0.00 (baseline p1 0.00)' would mislead."""
    baseline = pd.DataFrame({"in_port": np.r_[np.zeros(8), np.ones(192)],
                             "duration_h": np.linspace(1.0, 10.0, 200)})
    model = fit_type("loitering", FEATURES, baseline, seed=1)
    text = unusual_features(pd.DataFrame([{"in_port": 0.0, "duration_h": 5.0}]), model)
    assert "(baseline p1 0.00)" not in text.iloc[0]
    for _name, value, _, ref in _listed(text.iloc[0]):
        assert value < ref, text.iloc[0]  # strictly below what it quotes
