"""The README's claims table quotes verdict rows: every "value [low, high]" it prints must be a
row of results/verdicts.csv (value and interval equal to the printed rounding)."""
import re

import pandas as pd
import pytest

from vae_utils.paths import PROJECT_ROOT

NUMBER = r"[+−-]?\d+(?:\.\d+)?"
INTERVAL = re.compile(rf"({NUMBER})(?:\s+[a-z ]+?)?\s*\[({NUMBER}), ({NUMBER})\]")


def claims_table(text):
    start = text.index("| claim of the original study")
    return text[start:text.index("\n\n", start)]


def as_float(text):
    return float(text.replace("−", "-").replace("+", ""))


def half_unit(text):
    return 0.5 * 10.0 ** -(len(text.split(".")[1]) if "." in text else 0) + 1e-9


def quoted_intervals(text):
    return [m.groups() for m in INTERVAL.finditer(claims_table(text))]


def unmatched(text, rows):
    """The quoted (value, low, high) triples that no row of `rows` rounds to."""
    bad = []
    for value, low, high in quoted_intervals(text):
        hit = (((rows["value"] - as_float(value)).abs() <= half_unit(value))
               & ((rows["ci_low"] - as_float(low)).abs() <= half_unit(low))
               & ((rows["ci_high"] - as_float(high)).abs() <= half_unit(high)))
        if not hit.any():
            bad.append(f"{value} [{low}, {high}]")
    return bad


@pytest.fixture(scope="module")
def readme_and_rows():
    return (PROJECT_ROOT / "README.md").read_text(), pd.read_csv(PROJECT_ROOT / "results" / "verdicts.csv")


def test_every_interval_in_the_readme_claims_table_is_a_verdict_row(readme_and_rows):
    text, rows = readme_and_rows
    assert len(quoted_intervals(text)) >= 20          # the table quotes its rows, not prose alone
    assert unmatched(text, rows) == []


def test_a_misquoted_interval_is_caught(readme_and_rows):
    text, rows = readme_and_rows
    value, low, high = quoted_intervals(text)[0]
    wrong = text.replace(f"[{low}, {high}]", f"[{low}, {as_float(high) + 1:g}]", 1)
    assert len(unmatched(wrong, rows)) == 1
