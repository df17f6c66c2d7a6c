"""A run's verdict rows: on a measured run (`measure.Measured`, in a notebook) and again from its
committed tables (`rejudge`, tests/test_judge.py), by the same functions, adjusted in their families."""
import numpy as np
import pandas as pd

from ...config import notebooks, runspec
from ...config.runspec import tag_of
from ...inference import families, verdicts
from .beta import BETA_SETTINGS, beta_verdicts
from .data_size import size_changes, size_claims, size_generation
from .generation import vae_versus_ae_verdicts
from .reconstruction import reconstruction
from .rules import limited_arms, limited_settings, repeats_of


def limited(m):
    """What a measured run does not count: the arms of a β grid with a repeat that did not converge
    (`limited_arms`), else the optimisation-limited settings (`limited_settings`)."""
    if "arm" in m.convergence:
        return limited_arms(m.convergence, m.pca_check)
    return limited_settings(m.convergence, m.by, m.pca_check)


def decided(rows, others, protocol, dataset):
    """A run's verdict rows decided in their families (`families.adjust`, `others`: what the other
    runs plan), each saying what varies between its repeats: rows that do not say it themselves
    (notebook 6's sizes do) follow the run's protocol (disjoint blocks when it sets `n_train`)."""
    rows = families.adjust(rows, others, protocol["alpha"])
    default = repeats_of(protocol["n_train"], runspec.whole_size(dataset))
    rows["repeats"] = rows["repeats"].where(rows["repeats"].notna() & (rows["repeats"] != ""), default)
    return rows


def sweep_verdicts(m, by, trend=None):
    """`reconstruction` on an AE-against-VAE run's tables: 'AE reconstructs better than VAE' per
    setting in `by` and, with `trend` (an axis), whether the gap grows with it."""
    rows = reconstruction(m.runs, m.convergence, by, notebook=m.notebook, dataset=m.dataset, min_effect=m.min_effect,
                          alpha=m.alpha, trend=trend, pca_check=m.pca_check, baselines=m.baselines)
    return decided(rows, m.sibling_tests, m.protocol, m.dataset)


def beta_run_verdicts(m, claims, keys, **settings):
    """`beta_verdicts` on a β run's tables, for the claims in both `claims` (the run's) and `keys`
    (`settings`: its parameters of BETA_SETTINGS)."""
    rows = beta_verdicts([k for k in keys if k in claims], m.runs, m.convergence, m.clusters, m.scores,
                         betas=m.axes["beta"], d_z=m.axes["d_z"][0], notebook=m.notebook, dataset=m.dataset,
                         min_effect=m.min_effect, alpha=m.alpha, reference=m.reference, pca_check=m.pca_check,
                         **settings)
    return decided(rows, m.sibling_tests, m.protocol, m.dataset)


def generation_verdicts(m, scores, min_frechet_effect, reference=None):
    """Notebook 5's rows (`generation.vae_versus_ae_verdicts` on `scores`, against the real-data
    `reference`) adjusted in claim 2's family; empty for unlabelled data (no classifier)."""
    if scores is None:
        return pd.DataFrame(columns=verdicts.COLUMNS)
    rows = vae_versus_ae_verdicts(scores, m.notebook, m.dataset, min_frechet_effect, m.alpha, reference,
                                  limited=limited_settings(m.convergence, ["d_z"], m.pca_check))
    return decided(rows, m.sibling_tests, m.protocol, m.dataset)


def _reference(folder, tag):
    """The real-data reference a run wrote (<tag>-real_reference.csv) as {metric: value}, or None."""
    table = _read(folder, f"{tag}-real_reference", False)
    return None if table is None else table.drop(columns=["model", "sampler"]).iloc[0].to_dict()


def _read(folder, name, required=True):
    path = folder / f"{name}.csv"
    if not path.exists():
        if required:
            raise FileNotFoundError(f"{path} is missing: the run's tables are incomplete")
        return None
    return pd.read_csv(path)


def rejudge(spec, folder):
    """The verdict rows of the run `spec` (`runspec.RunSpec`) from its tables in `folder` (e.g.
    results/tables), by the same functions its notebook calls, adjusted in their families
    (`decided`): nothing is trained or loaded."""
    others = families.sibling_tests(spec.profile, runspec.run_of(spec.notebook_name, spec.dataset))
    return decided(judged_again(spec, folder), others, spec.protocol, spec.dataset)


def _depth(spec, folder, tag, judged):
    return reconstruction(_read(folder, f"{tag}-runs"), _read(folder, f"{tag}-convergence"), ["d_z", "n_layers"],
                          min_effect=spec.protocol["min_effect"], pca_check=_read(folder, f"{tag}-pca_check", False),
                          baselines=_read(folder, f"{tag}-baselines", False), **judged)


def _latent(spec, folder, tag, judged):
    return reconstruction(_read(folder, f"{tag}-runs"), _read(folder, f"{tag}-convergence"), ["d_z", "n_layers"],
                          min_effect=spec.protocol["min_effect"], trend="d_z",
                          pca_check=_read(folder, f"{tag}-pca_check", False), **judged)


def _beta(spec, folder, tag, judged):
    value = spec.value
    return beta_verdicts(value("claims"), _read(folder, f"{tag}-runs"), _read(folder, f"{tag}-convergence"),
                         _read(folder, f"{tag}-clusters", False), _read(folder, f"{tag}-generation", False),
                         betas=value("betas"), d_z=value("d_z"), min_effect=spec.protocol["min_effect"],
                         reference=_reference(folder, tag), pca_check=_read(folder, f"{tag}-pca_check", False),
                         **{k: value(k) for k in BETA_SETTINGS}, **judged)


def _generation(spec, folder, tag, judged):
    scores = _read(folder, f"{tag}-scores", required=False)
    if scores is None:                              # unlabelled data: no generation verdict
        return pd.DataFrame(columns=verdicts.COLUMNS)
    limited = limited_settings(_read(folder, f"{tag}-convergence"), ["d_z"], _read(folder, f"{tag}-pca_check", False))
    return vae_versus_ae_verdicts(scores, judged["notebook"], judged["dataset"], spec.value("min_frechet_effect"),
                                  judged["alpha"], _reference(folder, tag), limited=limited)


def _data_size(spec, folder, tag, judged):
    nmi_effect, min_effect = spec.value("nmi_min_effect"), spec.protocol["min_effect"]
    runs, convergence = _read(folder, f"{tag}-runs"), _read(folder, f"{tag}-convergence")
    whole, pca = runspec.whole_size(spec.dataset), _read(folder, f"{tag}-pca_check", False)
    claims = size_claims(runs, convergence, min_effect=min_effect, nmi_min_effect=nmi_effect,
                         own_size=runspec.own_size(spec.protocol, spec.dataset), whole=whole,
                         shared=runspec.shared_metrics(spec.profile, spec.dataset, spec.protocol), pca_check=pca,
                         **judged)
    changes = size_changes(runs, convergence, min_effect=min_effect, nmi_min_effect=nmi_effect, whole=whole,
                           pca_check=pca, **judged)
    if not spec.value("generation"):
        return pd.concat([claims, changes], ignore_index=True)
    generated = size_generation(_read(folder, f"{tag}-scores"), convergence,
                                min_effect=spec.value("min_frechet_effect"),
                                own_size=runspec.own_size(spec.protocol, spec.dataset), whole=whole,
                                reference=_reference(folder, tag), pca_check=pca,
                                shared=runspec.shared_metrics(spec.profile, spec.dataset, spec.protocol), **judged)
    return pd.concat([claims, changes, generated], ignore_index=True)


JUDGES = {"depth": _depth, "latent": _latent, "beta": _beta, "generation": _generation, "data_size": _data_size}
# a notebook's tag (`config.notebooks`) → how its run's rows are judged again from its tables


def judged_again(spec, folder):
    """The run's verdict rows from its tables in `folder`, before the family adjustment."""
    entry = notebooks.notebook(spec.notebook_name)
    if entry.tag not in JUDGES:
        raise ValueError(f"{spec.notebook_name} writes no verdict rows; judged notebooks: "
                         f"{', '.join(nb.name for nb in notebooks.JUDGED.values())}")
    judged = dict(notebook=spec.notebook_name, dataset=spec.dataset, alpha=spec.protocol["alpha"])
    return JUDGES[entry.tag](spec, folder, tag_of(spec.notebook_name, spec.dataset), judged)


def equal_rows(found, committed, rtol=1e-4):
    """Differences between two verdict tables (empty list: the same rows, outcomes identical and
    numbers within `rtol`, as the CSV files round them)."""
    problems = []
    if len(found) != len(committed):
        return [f"{len(found)} rows against {len(committed)}"]
    for i, (a, b) in enumerate(zip(found[verdicts.COLUMNS].itertuples(index=False),
                                   committed[verdicts.COLUMNS].itertuples(index=False))):
        for column, x, y in zip(verdicts.COLUMNS, a, b):
            numeric = isinstance(x, (int, float, np.number)) and isinstance(y, (int, float, np.number))
            same = (np.isclose(float(x), float(y), rtol=rtol, atol=1e-9, equal_nan=True) if numeric
                    else str(x) == str(y))
            if not same:
                problems.append(f"row {i} ({b.claim}; {b.condition}) {column}: {x!r} against {y!r}")
    return problems
