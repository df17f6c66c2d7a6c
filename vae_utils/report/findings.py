"""The generated front of the results: results/FINDINGS.md (one section per claim), the hero
figure and the README's answer table, all built from a profile's verdict rows and the figures
its runs saved. Torch-free (pandas, matplotlib); `scripts/report.py` calls it."""
import re

import matplotlib.pyplot as plt
import numpy as np

from ..config import notebooks, protocol
from ..config.claims import STUDY_CLAIMS
from . import answers

HERO = "hero-ae-vs-vae-gap"
HERO_CAPTION = ("The VAE − AE test reconstruction gap (positive: the AE reconstructs better), with 95% "
                "intervals over repeats, against the code size d_z (notebook 3, 2 layers) and against the "
                "training-set size (notebook 6, d_z = 10). Shaded: the declared smallest effect that matters "
                "(±1 nat per image); filled markers: comparisons decided beyond it.")
CLAIM_FIGURES = {   # claim → its key figures per dataset, as the notebooks name them: each slot takes
    # the first alternative that exists (a glob)
    1: [("latent-{d}-metrics-gap", "depth-{d}-metrics-dz*-gap"), ("data_size-{d}-recon_gap",)],
    2: [("generation-{d}-metrics",), ("data_size-{d}-generation",)],
    3: [("beta-{d}-rate_distortion",)],
    4: [("beta-{d}-clustering",), ("data_size-{d}-nmi_gap",)],
    5: [("beta-{d}-generation-frechet", "beta-{d}-generation-kid")],
}
CAPTIONS = {        # a figure's kind (its name after the dataset) → what it shows
    r"metrics-gap": "VAE − AE test reconstruction against d_z (2 layers), with 95% intervals and the ±1 nat margin",
    r"metrics-dz(\d+)-gap": "VAE − AE test reconstruction against depth at d_z = {0}, with 95% intervals",
    r"recon_gap": "VAE − AE test reconstruction against the training-set size (d_z = 10), with 95% intervals",
    r"nmi_gap": "β = 1 − AE clustering (k-means NMI) against the training-set size, with 95% intervals",
    r"generalisation_gap": "test minus training reconstruction against the training-set size",
    r"metrics": "sample quality (Fréchet distance, precision, recall, density, coverage) per sampler against d_z; "
                "dotted: real images",
    r"generation": "sample quality (Fréchet distance, precision, recall, density, coverage) per sampler at the "
                   "smallest and the largest training set (d_z = 10); dotted: real images",
    r"samples": "generated images of each model and sampler",
    r"rate_distortion": "rate (KL) against distortion (reconstruction) over β, from the AE (β = 0) to β = 10",
    r"clustering": "k-means NMI of the codes against β, with the AE as reference",
    r"generation-frechet": "sample quality (Fréchet distance) against β, per sampler",
    r"generation-kid": "sample quality (kernel distance, KID) against β, per sampler",
    r"prior_samples": "images decoded from the prior for each β",
    r"reconstructions": "test images and their reconstructions",
    r"reconstructions-dz(\d+)": "test images and their reconstructions at d_z = {0}",
    r"latent-dz(\d+)": "the codes of the test set at d_z = {0}",
    r"learning_curves.*": "training and validation objective per epoch",
}


def caption(name):
    """A figure's caption from its saved name '<notebook tag>-<dataset>-<kind>'."""
    for dataset in sorted(answers.DATASET_NAMES, key=len, reverse=True):
        head, sep, kind = name.partition(f"-{dataset}-")
        if sep:
            for pattern, words in CAPTIONS.items():
                match = re.fullmatch(pattern, kind)
                if match:
                    return f"{answers.dataset_name(dataset)}: {words.format(*match.groups())}."
    return f"Figure {name}."


def claim_figures(claim, datasets, figure_dir):
    """The key figures of `claim` that exist in `figure_dir`, dataset by dataset."""
    names = []
    for d in datasets:
        for slot in CLAIM_FIGURES[claim]:
            found = [sorted(figure_dir.glob(f"{alternative.format(d=d)}.png")) for alternative in slot]
            names += next(([p.stem for p in paths] for paths in found if paths), [])
    return names


def _size_rows(verdicts, dataset, profile):
    """Claim 1's rows of notebook 6 on `dataset`, x = images per repeat (the shared row: the
    protocol's n_train)."""
    rows = verdicts[(verdicts["notebook"] == notebooks.by_tag("data_size").name) & (verdicts["dataset"] == dataset)
                    & (verdicts["claim_id"] == "ae_reconstructs_better")].copy()
    default = protocol.load(profile, dataset)["n_train"] if len(rows) else None
    rows["x"] = rows["train_images"].fillna(default if default else np.nan)
    return rows.dropna(subset=["x"])


def hero_figure(verdicts, profile="default"):
    """Two panels: claim 1's VAE − AE gap against d_z and against the training-set size, per
    dataset, from the verdict rows alone. None when the rows hold neither sweep."""
    by_dz = verdicts[(verdicts["notebook"] == notebooks.by_tag("latent").name)
                     & (verdicts["claim_id"] == "ae_reconstructs_better")]
    by_size = [_size_rows(verdicts, d, profile) for d in verdicts["dataset"].unique()]
    by_size = [r for r in by_size if len(r)]
    if by_dz.empty and not by_size:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    panels = [(axes[0], [g.assign(x=g["d_z"]) for _, g in by_dz.groupby("dataset")], "code size d_z (log scale)"),
              (axes[1], by_size, "training images per repeat (log scale)")]
    margin = verdicts["min_effect"][verdicts["metric"] == "test_recon"].max()
    for ax, groups, label in panels:
        for rows in groups:
            rows = rows.sort_values("x")
            i = sorted(answers.DATASET_NAMES).index(rows["dataset"].iloc[0])
            colour, shift = f"C{i}", 1 + 0.03 * (i - 1.5)
            ax.errorbar(rows["x"] * shift, rows["value"], yerr=[rows["value"] - rows["ci_low"],
                        rows["ci_high"] - rows["value"]], color=colour, capsize=3, lw=1.2,
                        label=answers.dataset_name(rows["dataset"].iloc[0]))
            decided = rows["holds"].isin(answers.DECIDED)
            ax.scatter(rows["x"] * shift, rows["value"], s=36, zorder=3, edgecolor=colour,
                       facecolor=[colour if d else "white" for d in decided])
        ax.axhspan(-margin, margin, color="0.85", zorder=0)
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
        if groups:
            ax.set_xticks(sorted({x for g in groups for x in g["x"]}))
            ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
            ax.xaxis.set_minor_locator(plt.NullLocator())
    axes[0].set_ylabel("VAE − AE, nats per image\n(positive: AE reconstructs better)")
    axes[0].set_title("Claim 1 against the code size", fontsize=10)
    axes[1].set_title("… and against the amount of data", fontsize=10)
    axes[1].legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def _table(frame):
    """A DataFrame as a markdown table (no index)."""
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    return "\n".join([head, rule, *("| " + " | ".join(str(v) for v in row) + " |" for row in frame.values)])


def _notebook_link(row, prefix):
    run = f"{row['notebook']}--{row['dataset']}"
    return f"[{row['notebook'][:2]}]({prefix}notebooks/{run}.ipynb)"


def answer_table(verdicts, prefix="results/"):
    """The README's answer table: claim | answer | headline number | the notebook that shows it."""
    lines = ["| claim of the original study | answer | headline number [95% CI] | notebook |", "|---|---|---|---|"]
    for n, rows in answers.by_claim(verdicts).items():
        top = answers.headline(rows)
        number = (f"{answers.interval(top)} ({answers.where(top)}; {top['holds']})" if top is not None else "—")
        link = _notebook_link(top, prefix) if top is not None else ""
        lines.append(f"| {n}. {STUDY_CLAIMS[n]} | {answers.short_answer(rows)} | {number} | {link} |")
    return "\n".join(lines)


def findings(verdicts, profile, figure_dir, hero=None):
    """results/FINDINGS.md: how to read it, the hero figure, then one section per claim."""
    lines = ["# Findings", "",
             f"Generated by `make all` ({profile} profile) from `verdicts.csv`; do not edit by hand. Each answer "
             "is built from the claim's verdict rows: a row is one paired comparison over repeats, its value "
             "points in the claim's direction (positive: the claim's side), with a 95% interval. *yes* and *no* "
             "need the family-adjusted test to place the effect beyond the declared smallest effect that "
             "matters; the rules are in [docs/protocol.md](../docs/protocol.md), every row in "
             "[verdicts.csv](verdicts.csv).", ""]
    if hero:
        lines += [f"![{HERO_CAPTION}](figures/{hero}.png)", "", f"*{HERO_CAPTION}*", ""]
    for n, rows in answers.by_claim(verdicts).items():
        judged = answers.counted(rows)
        lines += [f"## Claim {n}: {STUDY_CLAIMS[n]}", "", answers.sentences(rows), ""]
        for name in claim_figures(n, list(dict.fromkeys(rows["dataset"])), figure_dir):
            text = caption(name)
            lines += [f"![{text}](figures/{name}.png)", "", f"*{text}*", ""]
        if len(judged):
            lines += [f"**Counted comparisons** ({len(judged)}):", "",
                      _table(answers.row_table(judged, ("dataset", "claim", "condition", "estimate [95% CI]",
                                                        "deciding interval", "repeats", "outcome"))), ""]
        left = answers.left_out(rows)
        shared = rows[~rows["counted"].astype(bool)]
        if len(left):
            table = answers.row_table(left, ("dataset", "claim", "condition", "estimate [95% CI]", "outcome"))
            table["why not counted"] = [answers.WHY_NOT_COUNTED[o] for o in left["holds"]]
            lines += [f"**Not counted** ({len(left)}):", "", _table(table), ""]
        if len(shared):
            lines += [f"{len(shared)} more rows repeat a comparison that an earlier notebook already counts "
                      f"(shared models): {', '.join(sorted(set(shared['notebook'])))}.", ""]
    return "\n".join(lines)


def replace_between(text, start, end, new):
    """`text` with what lies between the markers `start` and `end` replaced by `new`; ValueError
    naming the marker when one is missing."""
    for marker in (start, end):
        if text.count(marker) != 1:
            raise ValueError(f"the marker {marker!r} must appear exactly once (found {text.count(marker)})")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{new}\n{end}{tail}"
