"""Multiplicity families: one per claim of the study and dataset, over every run of a profile.

A claim is tested in several notebook runs (claim 1 in notebooks 2, 3 and 6; claim 4 in 4 and
6). Its family is every row that tests it on one dataset, wherever computed. So that each run can
print its final verdict without waiting for the others, the family's size is known in advance:
the run's own rows plus the rows every other run is planned to test (`planned`, from the
profile's parameter files). Each row is decided by its interval at level 1 − α / family size
(`verdicts.adjust`): all of a family's intervals cover together with probability ≥ 1 − α, so
the chance of any wrong outcome in the family stays at most α.
"""
from functools import lru_cache

import pandas as pd

from ..config import notebooks, runspec
from ..config.claims import claim_of
from . import verdicts


def family_name(claim, dataset):
    return f"claim {claim} on {dataset}"


def planned(spec):
    """{claim: rows} a run (`runspec.RunSpec`) will test, from its parameters: what its notebook's
    judge calls return (the notebook's entry in `config.notebooks`; tests/test_families.py checks
    this against every committed run)."""
    return notebooks.planned(spec.notebook_name, spec.value, spec.dataset)


@lru_cache(maxsize=None)
def _planned_of(profile, run):
    return planned(runspec.resolve(profile, run))


def siblings(profile, run):
    """The other runs of `profile` on `run`'s dataset: those whose planned rows split α with it."""
    if "--" not in run:
        return []
    dataset = run.split("--")[-1]
    return [other for other in runspec.runs_of(profile) if other != run and other.endswith(f"--{dataset}")]


def sibling_plans(profile, run):
    """{other run: {claim: rows}} over `siblings`, read afresh from their files: an input of `run`'s
    verdicts (scripts/run_notebook.py puts it in the run's digest)."""
    return {other: planned(runspec.resolve(profile, other)) for other in siblings(profile, run)}


def sibling_tests(profile, run):
    """{claim: tests} that the other runs of `profile` on `run`'s dataset are planned to test: what
    the run's families hold beyond its own rows. Resolved once per run, from the parameter files,
    and passed to `adjust` as a value."""
    totals = {}
    for other in siblings(profile, run):
        for claim, n in _planned_of(profile, other).items():
            totals[claim] = totals.get(claim, 0) + n
    return totals


def family_tests(profile, dataset, claim, run, own):
    """How many tests the family of `claim` on `dataset` holds: `own` for the run `run` itself
    (what it computed) plus what every other run of `profile` on `dataset` is planned to test."""
    return own + sibling_tests(profile, run).get(claim, 0)


def adjust(rows, others, alpha):
    """A run's verdict rows decided in their families: for each claim in `rows` (which must hold
    all of the run's rows of that claim), every row's interval at the family's level and its
    outcome (`verdicts.adjust`); `family` and `family_tests` say where. `others`: {claim: tests}
    the families hold beyond these rows (`sibling_tests`). Sensitivity rows are reported, not
    tested: they take no part in the count."""
    if rows.empty:
        return rows.reindex(columns=verdicts.COLUMNS)
    rows, parts = rows.reset_index(drop=True), []
    for claim, part in rows.groupby(rows["claim_id"].map(claim_of), sort=False):
        dataset = part["dataset"].iloc[0]
        tests = int((part["holds"] != verdicts.SENSITIVITY).sum()) + others.get(claim, 0)
        parts.append(verdicts.adjust(part, tests, alpha).assign(family=family_name(claim, dataset),
                                                                 family_tests=tests))
    columns = [*verdicts.COLUMNS, *(c for c in rows.columns if c not in verdicts.COLUMNS)]   # extras kept
    return pd.concat(parts).loc[rows.index].reindex(columns=columns)
