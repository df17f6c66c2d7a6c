"""Seed-stability rerun of the verdicts of notebooks 02 (depth), 03 (latent dimension) and 04 (β-VAE).

    PYTHONPATH=. python3 scripts/stability_rerun.py --profile default --seed 1 \\
        --out build/stability --cache build/stability-cache [--device cuda] [--frey-face]

For each notebook and dataset it measures the notebook's grid (the run's parameters,
`vae_utils.config.runspec`) on the profile's protocol with `seed` overridden, then judges it, with the
notebook's own stage calls:
02: measure.ae_vs_vae, the PCA check, judge.sweep_verdicts(run, ["d_z", "n_layers"]);
03: measure.ae_vs_vae, judge.sweep_verdicts(run, ["d_z", "n_layers"], trend="d_z");
04: measure.beta_grid, measure.add_codes, the feature extractor and measure.add_generation (when
    the run tests claim 5; its classifier is trained under the same seed), judge.beta_run_verdicts
    of the run's claims (no figure models).
Its rows are compared with the reference verdicts (default: the profile's verdicts.csv), matched
on notebook, dataset, claim and condition. Written to --out after every notebook/dataset, so a
run cut short keeps what it finished:

    stability-verdicts.csv   the new verdict rows
    stability-compare.csv    reference vs new: effect, 95% interval, outcome, changed flag
    stability-meta.json      arguments, device, versions, protocol overrides, wall times
    tables/                  the sweeps' own tables (runs, convergence, PCA check)

Nothing is written into results/: --out is the run's output folder (vae_utils.config.paths.STAGE_ENV,
as scripts/run_notebook.py stages a run), so the sweeps' tables go to --out/tables.
Models go to their own cache (--cache, exported as VAE_CACHE_DIR), never .cache/models, and
the torchvision copies of the data (normally .cache/data) to <cache>/_data_root/.cache/data.
Imports vae_utils and its dependencies (torch, torchvision, numpy, pandas, scipy, scikit-learn,
matplotlib, seaborn, pyyaml, and papermill to read the notebook's declared parameters; tqdm is
stubbed when missing). Verdicts are judged as the notebooks judge them (`vae_utils.study.judge`, through
`judge.sweep_verdicts`), baselines and the PCA check included.
"""
import argparse
import importlib.machinery
import json
import os
import sys
import tempfile
import time
import types
from pathlib import Path

from vae_utils.config import notebooks

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = {nb.number: nb.name for nb in notebooks.NOTEBOOKS.values() if nb.reruns}   # e.g. "02": its name
DATASETS = ("mnist", "fashion_mnist")
SHOWN = ["notebook", "dataset", "claim", "condition"]      # rows are matched on notebook, dataset and verdicts.KEYS
COMPARED = ["claim", "condition", "metric", "value", "ci_low", "ci_high", "p", "holds"]


def say(*parts):
    print(*parts, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="default", help="params/<profile>/ (default: default)")
    p.add_argument("--seed", type=int, default=1, help="protocol seed override (default: 1; the reference used 0)")
    p.add_argument("--notebooks", nargs="+", default=["02", "03"], metavar="NB",
                   help="02, 03 and/or 04, or their full names (default: 02 03)")
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), metavar="DS",
                   help="mnist fashion_mnist (default); frey_face runs for notebook 02 only")
    p.add_argument("--frey-face", action="store_true", help="also run notebook 02 on frey_face")
    p.add_argument("--out", required=True, help="output folder (must not be inside results/)")
    p.add_argument("--cache", required=True, help="model cache of this rerun (VAE_CACHE_DIR)")
    p.add_argument("--reference", default=None,
                   help="reference verdicts (default: the profile's results folder's verdicts.csv)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: CUDA when torch sees it (vae_utils' own choice); cpu hides the GPUs")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = p.parse_args(argv)
    names = {v: v for v in NOTEBOOKS.values()} | NOTEBOOKS
    bad = [n for n in args.notebooks if n not in names]
    if bad:
        p.error(f"unknown notebook(s) {bad}; allowed: {', '.join(names)}")
    args.notebooks = list(dict.fromkeys(names[n] for n in args.notebooks))
    if args.frey_face and "frey_face" not in args.datasets:
        args.datasets = [*args.datasets, "frey_face"]
    out, results = Path(args.out).resolve(), (ROOT / "results").resolve()
    if out == results or results in out.parents:
        p.error(f"--out {args.out} is inside results/; give a folder elsewhere")
    if Path(args.cache).resolve() == (ROOT / ".cache" / "models").resolve():
        p.error("--cache must not be the repository's .cache/models")
    return args


def install_tqdm_stub():
    """vae_utils imports tqdm.auto; where tqdm is missing, a silent stand-in does."""
    try:
        import tqdm.auto  # noqa: F401
        return False
    except ImportError:
        pass

    class Bar:
        def __init__(self, iterable=None, *args, **kwargs):
            self.iterable = iterable

        def __iter__(self):
            return iter(self.iterable)

        def __getattr__(self, name):          # set_postfix, update, close, ...
            return lambda *a, **k: None

    package, auto = types.ModuleType("tqdm"), types.ModuleType("tqdm.auto")
    package.__spec__ = importlib.machinery.ModuleSpec("tqdm", None, is_package=True)   # torch._dynamo
    auto.__spec__ = importlib.machinery.ModuleSpec("tqdm.auto", None)                  # calls find_spec
    package.tqdm = auto.tqdm = Bar
    package.auto = auto
    sys.modules.update({"tqdm": package, "tqdm.auto": auto})
    return True


def run_parameters(profile, notebook, dataset):
    """The run's parameters (its file over the notebook's defaults, `vae_utils.config.runspec`), or None
    when the profile has no such run."""
    from vae_utils.config import runspec

    run = runspec.run_of(notebook, dataset)
    if not runspec.run_file(profile, run).exists():
        return None
    spec = runspec.resolve(profile, run)
    return {**spec.defaults, **spec.parameters}


def rerun_beta(notebook, params, overrides):
    """Notebook 4's verdict rows under the seed override, through the notebook's own stages."""
    from vae_utils.inference import verdicts
    from vae_utils.study import generation, judge, measure

    dataset, claims = params["dataset"], params["claims"]
    run = measure.beta_grid(notebook, params["profile"], dataset, params["betas"], params["n_layers"], params["d_z"],
                            None, overrides)
    say(f"  {measure.describe(run)}")
    say(f"  {measure.training_time(run)}")
    run = measure.add_codes(run, k=params["iw_samples"])
    if "generates" in claims:
        extractor, accuracy, real_features, ceiling = generation.feature_reference(
            dataset, params["n_samples"], run.protocol["seed"], params["classifier_epochs"],
            params["classifier_n_train"], params["min_accuracy"], params["pixel_components"])
        say(f"  feature extractor: {'classifier, test accuracy %.4f' % accuracy if accuracy else 'pixel PCA'}")
        run = measure.add_generation(run, extractor, real_features, params["n_samples"], ceiling,
                                     seed=run.protocol["seed"])
    rows = judge.beta_run_verdicts(run, claims, claims, **{k: params[k] for k in judge.BETA_SETTINGS})
    say(f"  optimisation-limited arms: {sorted(judge.limited(run)) or 'none'}")
    for line in verdicts.describe(rows).splitlines():
        say(f"  {line}")
    return rows, run.protocol


def rerun(notebook, params, seed):
    """The notebook's verdict rows under the seed override, through the notebook's own stages."""
    from vae_utils.inference import verdicts
    from vae_utils.inference.checks import pca_summary
    from vae_utils.study import judge, measure, summaries

    dataset, profile = params["dataset"], params["profile"]
    overrides = {**(params.get("protocol") or {}), "seed": seed}
    tag = notebooks.notebook(notebook).tag
    if tag == "beta":
        return rerun_beta(notebook, params, overrides)
    if tag == "depth":
        axes = {"d_z": params["d_z_list"], "n_layers": params["n_layers_list"]}
        run = measure.ae_vs_vae(notebook, profile, dataset, axes, overrides, params["iw_samples"])
    else:
        run = measure.ae_vs_vae(notebook, profile, dataset, {"d_z": params["d_z_list"]}, overrides,
                                params["iw_samples"], n_layers=params["n_layers"])
    say(f"  {measure.describe(run)}")
    say(f"  {measure.training_time(run)}")
    convergence = summaries.convergence(run)
    unconverged = convergence[convergence["converged"] < len(run.repeats)]
    if tag == "depth":
        pca = pca_summary(run.pca_check)
        missed = pca.loc[~pca["within_tolerance"].astype(bool), "d_z"].tolist() if not pca.empty else []
        say(f"  linear AE vs PCA: mean ratio {', '.join(f'd_z={r.d_z}: {r.ratio:.4f}' for r in pca.itertuples())}"
            + (f"; missed at d_z = {missed}" if missed else ""))
        rows = judge.sweep_verdicts(run, ["d_z", "n_layers"])
    else:
        rows = judge.sweep_verdicts(run, ["d_z", "n_layers"], trend="d_z")
    if len(unconverged):
        say(f"  not all repeats converged at {len(unconverged)} setting(s): they are optimisation-limited")
    limited = list({json.dumps(s, sort_keys=True, default=str): s for s in judge.limited(run)}.values())
    say(f"  optimisation-limited settings: {limited or 'none'}")
    for line in verdicts.summary(rows, run.alpha).splitlines():
        say(f"  {line}")
    return rows, run.protocol


def compare(new, reference):
    """Reference vs new rows, outer-matched on the notebook, the dataset and the rows' key columns
    (`verdicts.KEYS`: the claim and its condition as values) within the notebook/dataset pairs rerun."""
    import numpy as np
    import pandas as pd

    from vae_utils.inference.verdicts import KEYS as ROW_KEYS

    keys = ["notebook", "dataset", *ROW_KEYS]
    done = set(zip(new["notebook"], new["dataset"]))
    if reference is None:
        reference = pd.DataFrame(columns=keys + COMPARED)
    keep = pd.Series([(a, b) in done for a, b in zip(reference["notebook"], reference["dataset"])],
                     index=reference.index, dtype=bool)
    reference = reference.loc[keep]
    old = reference[keys + COMPARED].rename(columns={c: f"{c}_ref" for c in COMPARED})
    table = old.merge(new[keys + COMPARED].rename(columns={c: f"{c}_new" for c in COMPARED}),
                      on=keys, how="outer", indicator="found")
    for c in ("claim", "condition"):
        table[c] = table[f"{c}_new"].fillna(table[f"{c}_ref"])
    table["found"] = table["found"].map({"both": "both", "left_only": "reference only", "right_only": "new only"})
    for c in ("value", "ci_low", "ci_high", "p"):
        for side in ("ref", "new"):
            table[f"{c}_{side}"] = pd.to_numeric(table[f"{c}_{side}"], errors="coerce")
    table["delta"] = table["value_new"] - table["value_ref"]
    table["rel_change"] = table["delta"] / table["value_ref"].abs()
    table["sign_flip"] = np.sign(table["value_new"]) * np.sign(table["value_ref"]) < 0
    table["intervals_overlap"] = ((table["ci_low_new"] <= table["ci_high_ref"])
                                  & (table["ci_low_ref"] <= table["ci_high_new"]))
    table["changed"] = (table["found"] == "both") & (table["holds_ref"] != table["holds_new"])
    order = ["found", "metric_ref", "value_ref", "value_new", "delta", "rel_change", "ci_low_ref", "ci_high_ref",
             "ci_low_new", "ci_high_new", "intervals_overlap", "sign_flip", "p_ref", "p_new",
             "holds_ref", "holds_new", "changed"]
    return table[SHOWN + order].sort_values(SHOWN).reset_index(drop=True)


def write_csv(table, path):
    """Atomically, so a run killed mid-write leaves the previous complete file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        table.to_csv(fh, index=False, float_format="%.6g")
    os.replace(tmp, path)


def summary(table, timings):
    import numpy as np

    both = table[table["found"] == "both"]
    lines = [f"rows: {len(table)} ({len(both)} matched, {int((table['found'] == 'new only').sum())} new only, "
             f"{int((table['found'] == 'reference only').sum())} reference only)",
             f"outcomes changed: {int(both['changed'].sum())} of {len(both)}"]
    for r in both[both["changed"]].itertuples():
        lines.append(f"  {r.notebook} {r.dataset} | {r.claim} | {r.condition}: {r.holds_ref} -> {r.holds_new} "
                     f"(effect {r.value_ref:+.3g} -> {r.value_new:+.3g})")
    rel = both["rel_change"].abs().replace([np.inf, -np.inf], np.nan).dropna()
    if len(rel):
        lines.append(f"median |relative change| of the effect: {rel.median():.1%} (n = {len(rel)}); "
                     f"median |change|: {both['delta'].abs().median():.3g}; signed median relative change "
                     f"{both['rel_change'].replace([np.inf, -np.inf], np.nan).median():+.1%}")
        lines.append(f"sign flips: {int(both['sign_flip'].sum())}; 95% intervals not overlapping: "
                     f"{int((~both['intervals_overlap']).sum())}")
    lines.append("wall time: " + "; ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    out, cache = Path(args.out).resolve(), Path(args.cache).resolve()
    (out / "tables").mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["VAE_CACHE_DIR"] = str(cache)                 # vae_utils.config.paths.cache_dir reads it per call
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""              # before torch loads: pick_device() says cpu
    if not os.environ.get("VAE_DATA_DIR"):
        say(f"note: VAE_DATA_DIR is not set; vae_utils reads {ROOT / 'data'}")
    stubbed = install_tqdm_stub()

    import pandas as pd
    import torch

    import vae_utils.core.data
    from vae_utils.config import paths
    from vae_utils.engine.reproducibility import package_versions, pick_device

    paths.check_profile(args.profile)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    device = pick_device()
    reference_path = (Path(args.reference) if args.reference
                      else paths.results_dir(args.profile, create=False) / "verdicts.csv")
    # torchvision's extracted copies go beside this run's cache, not into the repository's .cache/data
    vae_utils.core.data.PROJECT_ROOT = cache / "_data_root"
    os.environ[paths.STAGE_ENV] = str(out)   # every table vae_utils writes goes to --out/tables, not results/

    reference = pd.read_csv(reference_path) if reference_path.exists() else None
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    say(f"stability rerun: profile {args.profile}, seed {args.seed}, device {device} ({name}), "
        f"torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads{', tqdm stubbed' if stubbed else ''}")
    say(f"reference: {reference_path}" + ("" if reference is not None else " (missing: nothing to compare with)"))
    say(f"out: {out}; cache: {cache}; data: {paths.data_dir()}")

    runs = [(nb, ds) for nb in args.notebooks for ds in args.datasets]
    new, timings, protocols, skipped = [], {}, {}, []
    meta = {"args": vars(args), "device": str(device), "device_name": name, "versions": package_versions(),
            "reference": str(reference_path), "timings_s": timings, "protocols": protocols, "skipped": skipped}
    start_all = time.perf_counter()
    for notebook, dataset in runs:
        params = run_parameters(args.profile, notebook, dataset)
        if params is None:
            skipped.append(f"{notebook}--{dataset}")
            say(f"skip {notebook} {dataset}: no params/{args.profile}/{notebook}--{dataset}.yaml")
            continue
        say(f"== {notebook} {dataset} ({args.profile}, seed {args.seed})")
        start = time.perf_counter()
        rows, used = rerun(notebook, params, args.seed)
        timings[f"{notebook}--{dataset}"] = round(time.perf_counter() - start, 1)
        protocols[f"{notebook}--{dataset}"] = used
        new.append(rows)
        verdicts_new = pd.concat(new, ignore_index=True)
        table = compare(verdicts_new, reference)
        write_csv(verdicts_new, out / "stability-verdicts.csv")
        write_csv(table, out / "stability-compare.csv")
        (out / "stability-meta.json").write_text(json.dumps(meta, indent=1, default=str))
        part = table[(table["notebook"] == notebook) & (table["dataset"] == dataset)]
        changed = int(part["changed"].sum())
        say(f"  done in {timings[f'{notebook}--{dataset}']:.1f} s: {len(rows)} rows, {changed} outcome(s) changed "
            f"vs reference; CSVs written ({time.perf_counter() - start_all:.0f} s so far)")
    if not new:
        raise SystemExit("nothing was run")
    timings["total"] = round(time.perf_counter() - start_all, 1)
    (out / "stability-meta.json").write_text(json.dumps(meta, indent=1, default=str))
    say("== summary")
    say(summary(table, timings))
    say(f"written: {out / 'stability-verdicts.csv'}, {out / 'stability-compare.csv'}")


if __name__ == "__main__":
    main()
