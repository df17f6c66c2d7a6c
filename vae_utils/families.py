"""Multiplicity families: one per claim of the study and dataset, over every run of a profile.

A claim is tested in several notebook runs (claim 1 in notebooks 2, 3 and 6; claim 4 in 4 and
6). Its family is every row that tests it on one dataset, wherever computed. So that each run can
print its final verdict without waiting for the others, α is split across the runs in proportion
to the rows each is planned to test (`planned`, from the profile's parameter files), and Holm
runs within each run's part (`verdicts.adjust`): the family-wise error stays at most α.
"""
from functools import lru_cache

import pandas as pd

from . import runspec, verdicts
from .data import dataset_info

CLAIM_OF = {                      # claim id (verdicts.KEYS) → the study's claim (GUIDE §1)
    "ae_reconstructs_better": 1, "gap_grows_with_d_z": 1, "recon_gap_changes_with_size": 1,
    "vae_generates_better": 2,
    "ae_like": 3, "vae_like": 3,
    "clusters": 4, "clusters_trend": 4, "nmi_gap_changes_with_size": 4,
    "generates": 5,
}


def claim_of(claim_id):
    """The study's claim (1–5) a row's claim id tests; ValueError for an id no family knows."""
    if claim_id not in CLAIM_OF:
        raise ValueError(f"claim_id={claim_id!r} belongs to no family; known: {', '.join(CLAIM_OF)}")
    return CLAIM_OF[claim_id]


def family_name(claim, dataset):
    return f"claim {claim} on {dataset}"


def planned(spec):
    """{claim: rows} a run (`runspec.RunSpec`) will test, from its parameters: what its notebook's
    judge calls return (tests/test_families.py checks this against every committed run)."""
    v, notebook, counts = spec.value, spec.notebook_name, {}
    labelled = dataset_info(spec.dataset).class_names is not None
    if notebook == "02_ae_vs_vae_depth":
        counts[1] = len(v("d_z_list")) * len(v("n_layers_list"))
    elif notebook == "03_ae_vs_vae_latent_dim":
        counts[1] = len(v("d_z_list")) + (len(v("d_z_list")) > 1)
    elif notebook == "04_beta_vae":
        claims, betas = v("claims"), v("betas")
        high = [b for b in betas if b >= 1]
        counts[3] = len(v("ae_like_betas")) * ("ae_like" in claims) + len(v("vae_like_betas")) * ("vae_like" in claims)
        counts[4] = (len(high) + 1) * ("clusters" in claims)
        counts[5] = 2 * len([b for b in betas if b > 1]) * ("generates" in claims)   # own prior, fitted mixture
    elif notebook == "05_generation":
        counts[2] = 5 * len(v("d_z_list")) * labelled         # 3 AE samplers against the prior, 2 like for like
    elif notebook == "06_data_size":
        per_claim = (len(v("n_train_list")) + 1) * len(v("d_z_list"))   # each size, and the change
        counts[1], counts[4] = per_claim, per_claim
    return {claim: n for claim, n in counts.items() if n}


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


def family_tests(profile, dataset, claim, run, own):
    """How many tests the family of `claim` on `dataset` holds: `own` for the run `run` itself
    (what it computed) plus what every other run of `profile` on `dataset` is planned to test."""
    return own + sum(_planned_of(profile, other).get(claim, 0) for other in siblings(profile, run))


def adjust(rows, profile, alpha):
    """A run's verdict rows adjusted in their families: for each claim in `rows` (which must hold
    all of the run's rows of that claim: they are its share), Holm within them at the run's share
    of α, and the outcome decided (`verdicts.adjust`); `family` and `family_tests` say where."""
    if rows.empty:
        return rows.reindex(columns=verdicts.COLUMNS)
    rows, parts = rows.reset_index(drop=True), []
    for claim, part in rows.groupby(rows["claim_id"].map(claim_of), sort=False):
        notebook, dataset = part["notebook"].iloc[0], part["dataset"].iloc[0]
        tests = family_tests(profile, dataset, claim, runspec.run_of(notebook, dataset), len(part))
        parts.append(verdicts.adjust(part, tests / len(part), alpha).assign(family=family_name(claim, dataset),
                                                                              family_tests=tests))
    columns = [*verdicts.COLUMNS, *(c for c in rows.columns if c not in verdicts.COLUMNS)]   # extras kept
    return pd.concat(parts).loc[rows.index].reindex(columns=columns)
