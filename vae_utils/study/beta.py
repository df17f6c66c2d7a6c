"""Notebook 4's question in words and checks: VAEs over a grid of β with the AE as the
reference (`measure.beta_grid`), for the study's claims 3–5 (AE-likeness, clustering, generation).

β weighs the KL term against a reconstruction term that is a per-example sum over pixels
(nats per image), in every notebook alike: β = 1 is the plain VAE, β = 0 the AE's objective
with a stochastic encoder.
"""

from ..config import rules

CLAIM_KEYS = rules.CLAIM_KEYS   # the claims a run may test (`CLAIMS`)


def check_claims(claims, betas, ae_like_betas, vae_like_betas, dataset):
    """ValueError naming an unknown claim, a β of claim 3 that is not in `betas`, or a clustering
    claim on unlabelled data, before any training (`rules.claims_problems`)."""
    for field, value, allowed in rules.claims_problems(claims, betas, ae_like_betas, vae_like_betas, dataset):
        raise ValueError(f"{field}={value!r} is not allowed; {allowed}")


def posterior_noise(summary, betas, dataset):
    """What β does to the encoder's noise, in words, from `summaries.by_arm` (with posterior_std
    and active_units): the mean posterior std at β = 1 against the smallest and the largest β."""
    by_arm = summary.set_index("arm")
    std, smallest, largest = by_arm["posterior_std_mean"], f"β={min(betas):g}", f"β={max(betas):g}"
    lines = []
    if min(betas) < 1:
        lines.append(f"{dataset}: the mean posterior standard deviation is {std['β=1']:.3g} at β = 1 and "
                     f"{std[smallest]:.3g} at {smallest}"
                     + (": as the price of the KL falls, the encoder's noise only costs reconstruction, and its "
                        "variance is driven towards 0 (it does not become irrelevant)." if std[smallest] < std["β=1"]
                        else " (it did not fall)."))
    lines.append(f"{dataset}: at {largest} the mean posterior standard deviation is {std[largest]:.3g} "
                 f"(1 = the prior's).")
    lines.append("active units per β: " + ", ".join(f"{a} {by_arm.loc[a, 'active_units_mean']:.1f}"
                                                    for a in by_arm.index))
    return "\n".join(lines)


def check_betas(betas):
    """ValueError unless `betas` are distinct finite numbers ≥ 0 that include 1 (the plain VAE)."""
    problem = rules.betas_problem(betas)
    if problem:
        raise ValueError(f"betas={betas!r} is not allowed; {problem}")


def check_generation_metric(metric):
    """ValueError unless `metric` is one claim 5 can be judged on."""
    rules.check_value("generation_metric", metric, rules.PARAMETERS)
