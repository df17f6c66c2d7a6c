"""The study's answers in words, generated from verdict rows (`vae_utils.inference.verdicts`): one set of
templates for a notebook's Answer cell, results/FINDINGS.md and the README's answer table, so
that no answer is typed by hand. Torch-free: pandas only."""
import math
import re

import pandas as pd

from ..config.claims import STUDY_CLAIMS
from ..config.datasets import DISPLAY_NAMES as DATASET_NAMES
from ..inference import verdicts
from ..inference.verdicts import BELOW_MARGIN, NOT_COUNTED

UNITS = {       # a row's metric → the unit its value is in (positive: in the claim's direction)
    "test_recon": "nats per image",
    "test_recon gap slope": "nats per image per doubling of d_z",
    "test_recon gap difference": "nats per image",
    "nmi": "NMI",
    "nmi slope": "NMI per doubling of β",
    "nmi gap difference": "NMI",
    "frechet": "Fréchet distance",
    "kid": "kernel distance (KID)",
}
WHY_NOT_COUNTED = {
    "optimisation-limited": "its models did not train to their optimum (PCA or continuation check)",
    "below-baseline": "neither model beats the nearest training image",
    "saturated": "the metric cannot tell the samplers apart",
    "sensitivity": "the raw codes, reported beside the declared view (active units, standardised)",
}
DECIDED = ("yes", "no")


def claim_number(rows):
    """The study's claim (1–5) of each row, read from its family ('claim N on <dataset>')."""
    return pd.to_numeric(rows["family"].astype(str).str.extract(r"claim (\d+) on", expand=False))


def dataset_name(dataset):
    return DATASET_NAMES.get(dataset, dataset)


def number(value, digits=3):
    """`value` to `digits` significant digits, thousands separated, a true minus sign."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = f"{float(f'{value:.{digits}g}'):,}"
    text = re.sub(r"\.0$", "", text) if abs(value) >= 10 ** (digits - 1) else text
    return text.replace("-", "−")


def interval(row):
    """'+9.73 [9.44, 10.0] nats per image': the row's estimate, its 95% interval and unit."""
    sign = "+" if row["value"] > 0 else ""
    unit = UNITS.get(row["metric"], row["metric"])
    return f"{sign}{number(row['value'])} [{number(row['ci_low'])}, {number(row['ci_high'])}] {unit}"


def where(row):
    """'MNIST, d_z=50, n_layers=2': the row's dataset and condition."""
    return f"{dataset_name(row['dataset'])}, {row['condition']}"


def counted(rows):
    """The rows a tally counts: each comparison once (not `shared`), and judged (not NOT_COUNTED)."""
    rows = rows[rows["counted"].astype(bool)] if "counted" in rows else rows
    return rows[~rows["holds"].isin(NOT_COUNTED)]


def verdict_word(rows):
    """One word for a claim from its counted rows: Yes, In part, Mixed, No or Not shown."""
    outcomes = counted(rows)["holds"]
    yes, no = (outcomes == "yes").sum(), (outcomes == "no").sum()
    if yes and no:
        return "Mixed"
    if yes:
        return "Yes" if yes == len(outcomes) else "In part"
    return "No" if no else "Not shown"


def strength(row):
    """How far a row's interval lies past the line its outcome rests on, in half-widths: the
    margin for yes/no, the equivalence margin for a shown sameness, zero otherwise."""
    half = max((row["ci_high"] - row["ci_low"]) / 2, 1e-12)
    if row["holds"] == "yes" and row.get("alternative") == "equivalence":
        return (row["min_effect"] - max(abs(row["ci_low"]), abs(row["ci_high"]))) / row["min_effect"]
    if row["holds"] in DECIDED:
        return (abs(row["value"]) - row["min_effect"]) / half
    return abs(row["value"]) / half


def headline(rows):
    """The row that stands for a claim: among its counted rows with the more frequent decided
    outcome (yes or no; any counted row when none is decided), the one whose interval lies
    farthest past its margin. None when nothing is counted."""
    judged = counted(rows)
    if judged.empty:
        return None
    tally = judged["holds"].value_counts()
    decided = [o for o in DECIDED if tally.get(o, 0)]
    if decided:
        majority = max(decided, key=lambda o: (tally[o], o == "yes"))
        judged = judged[judged["holds"] == majority]
    return judged.loc[judged.apply(strength, axis=1).idxmax()]


def tally_words(rows):
    """'6 yes, 0 no, 10 non-zero below margin, 14 inconclusive' over the counted rows."""
    counts = counted(rows)["holds"].value_counts()
    order = ["yes", "no", BELOW_MARGIN, "equivalent", "inconclusive"]
    return ", ".join(f"{counts.get(o, 0)} {o.replace(',', '')}" for o in order if counts.get(o, 0) or o in DECIDED)


def datasets_of(rows):
    return ", ".join(dataset_name(d) for d in dict.fromkeys(rows["dataset"]))


def short_answer(rows):
    """At most 25 words for the README's answer table: the verdict word, then where it was
    shown and how often it was contradicted."""
    judged = counted(rows)
    yes, no = judged[judged["holds"] == "yes"], judged[judged["holds"] == "no"]
    text = f"{verdict_word(rows)}: yes in {len(yes)} of {len(judged)} counted comparisons"
    text += f" ({datasets_of(yes)})" if len(yes) else ""
    text += f", no in {len(no)}" + (f" ({datasets_of(no)})" if len(no) else "")
    rest = len(judged) - len(yes) - len(no)
    return text + (f"; {rest} not decided." if rest else ".")


def left_out(rows):
    """The rows a tally leaves out as not judged (NOT_COUNTED), each comparison once (not `shared`)."""
    left = rows[rows["holds"].isin(NOT_COUNTED)]
    return left[left["counted"].astype(bool)] if "counted" in rows else left


def not_counted_words(rows):
    """The rows left out of the tally and why ('' when none)."""
    left = left_out(rows)
    return "; ".join(f"{len(group)} {outcome} ({datasets_of(group)}: {WHY_NOT_COUNTED[outcome]})"
                     for outcome, group in left.groupby("holds", sort=False))


def level_words(rows):
    """The trends whose outcome changes when one level is left out ('' when none): the levels,
    and the range of the slope refitted without each."""
    judged = counted(rows)
    if "carried_by" not in judged:
        return ""
    words = []
    for _, r in judged[judged["loo_low"].notna()].iterrows():
        carried, stronger = (r[c].split() if isinstance(r.get(c), str) else []
                             for c in ("carried_by", "stronger_without"))
        if carried:
            words.append(f"{dataset_name(r['dataset'])}'s {r['claim']} is weaker without {', '.join(carried)} "
                         f"(slopes with one level left out: {number(r['loo_low'])} to {number(r['loo_high'])})")
        if stronger:
            words.append(f"{dataset_name(r['dataset'])}'s {r['claim']} is stronger without {', '.join(stronger)}")
    return "; ".join(words)


def by_dataset_words(rows):
    """'MNIST 0 yes, 3 no of 6; Frey Face 2 yes, 0 no of 3' when the rows span several datasets."""
    judged = counted(rows)
    if judged["dataset"].nunique() < 2:
        return ""
    parts = [f"{dataset_name(d)} {(g['holds'] == 'yes').sum()} yes, {(g['holds'] == 'no').sum()} no of {len(g)}"
             for d, g in judged.groupby("dataset", sort=False)]
    return "By dataset: " + "; ".join(parts) + "."


def sentences(rows):
    """Two to four sentences answering one claim from its rows (one or several datasets)."""
    judged = counted(rows)
    left = not_counted_words(rows)
    if judged.empty:
        return "Nothing counted" + (f": {left}." if left else ".")
    top = headline(rows)
    plural = "s" * (len(judged) != 1)
    text = [f"**{verdict_word(rows)}.** Over {len(judged)} counted comparison{plural}: {tally_words(rows)}.",
            by_dataset_words(rows),
            f"The clearest ({top['holds']}): {top['claim']} on {where(top)}, {interval(top)}."]
    caveats = [w for w in (level_words(rows), f"not counted: {left}" if left else "") if w]
    text.append(("Read with care: " + "; ".join(caveats) + ".") if caveats else "")
    return " ".join(t for t in text if t)


def by_claim(rows):
    """{claim number: its rows}, in claim order (rows of no claim's family are left out)."""
    numbers = claim_number(rows)
    return {int(n): rows[numbers == n] for n in sorted(numbers.dropna().unique())}


def markdown(rows, none="This run judges no claim."):
    """A notebook's Answer: for each claim its rows test, the claim and its sentences (`none`
    when the run has no verdict rows)."""
    if rows.empty:
        return none
    return "\n\n".join(f"**Claim {n}: {STUDY_CLAIMS[n]}.** {sentences(part)}" for n, part in by_claim(rows).items())


def row_table(rows, columns=("dataset", "condition", "estimate [95% CI]", "outcome")):
    """A compact table of rows for reading: dataset, condition, estimate with interval, the
    interval that decided it (at its family's level), what varies between its repeats, outcome."""
    table = pd.DataFrame({"dataset": rows["dataset"].map(dataset_name), "claim": rows["claim"],
                          "condition": rows["condition"], "estimate [95% CI]": rows.apply(interval, axis=1),
                          "deciding interval": rows.apply(verdicts.family_interval, axis=1),
                          "repeats": rows["repeats"], "outcome": rows["holds"]})
    return table[list(columns)].reset_index(drop=True)
