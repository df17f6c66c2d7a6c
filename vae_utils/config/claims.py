"""The study's shared vocabulary: the names of its claims, models, arms, axes and samplers, as
every stage writes them into tables and verdict rows. One place, imported by measure, judge,
show, the families and the report; torch-free."""
STUDY_CLAIMS = {    # the original study's claims (GUIDE §1), by number: a verdict row's family says which
    1: "AEs reconstruct better than VAEs, more visibly for larger D_z",
    2: "VAEs generate much better than AEs",
    3: "β → 0 behaves like an AE, β ≈ 1 like a VAE",
    4: "a β-VAE (β ≥ 1) clusters better than an AE, more visibly at higher β",
    5: "β > 1 generates better than a plain VAE",
}
CLAIM_OF = {        # a verdict row's claim id (verdicts.KEYS) → the study's claim it tests
    "ae_reconstructs_better": 1, "gap_grows_with_d_z": 1, "recon_gap_changes_with_size": 1,
    "vae_generates_better": 2,
    "ae_like": 3, "vae_like": 3,
    "clusters": 4, "clusters_trend": 4, "nmi_gap_changes_with_size": 4, "clusters_raw": 4,
    "generates": 5,
}
CLAIM = "AE reconstructs better than VAE"       # claim 1 as notebooks 2, 3 and 6 state it
CLAIM_ID = "ae_reconstructs_better"
BETA_CLAIMS = {     # notebook 4's claims, by the key its `claims` parameter takes
    "ae_like": "β → 0 behaves like an AE (reconstruction)",
    "vae_like": "β ≈ 1 behaves like a VAE (reconstruction)",
    "clusters": "β-VAE (β ≥ 1) clusters better than an AE",
    "clusters_trend": "clustering improves with β (β ≥ 1)",
    "clusters_raw": "β-VAE (β ≥ 1) clusters better than an AE, on the raw codes (sensitivity)",
    "generates": "β > 1 generates better than a plain VAE",
}
CHANGE_IDS = {"test_recon": "recon_gap_changes_with_size", "nmi": "nmi_gap_changes_with_size"}
CHANGES = {         # notebook 6's question, per metric
    "test_recon": "the VAE − AE reconstruction gap changes with the training-set size",
    "nmi": "the β = 1 − AE clustering (NMI) gap changes with the training-set size",
}
AE = "ae"                       # the model name of an autoencoder (the other is "vae")
VIEW = "active_standardised"    # the view of the codes the clustering claims are judged on
RAW_VIEW = "raw"                # the codes as the encoder gives them: claim 4's sensitivity rows
SIZE = "train_images"           # the column of a training-set-size axis: images per repeat, validation included
SAMPLERS_FOR = {"vae": ["prior", "gaussian", "mixture"], "ae": ["standard_normal", "gaussian", "mixture"]}
SAMPLER_LABELS = {"prior": "own prior", "standard_normal": "N(0, I) (naive)",
                  "gaussian": "fitted Gaussian", "mixture": "fitted mixture (10)"}


def claim_of(claim_id):
    """The study's claim (1–5) a row's claim id tests; ValueError for an id no family knows."""
    if claim_id not in CLAIM_OF:
        raise ValueError(f"claim_id={claim_id!r} belongs to no family; known: {', '.join(CLAIM_OF)}")
    return CLAIM_OF[claim_id]


def trend_claim(axis):
    """The claim of a trend row: the AE − VAE gap grows with `axis` (e.g. d_z)."""
    return f"AE-VAE gap grows with {axis}"


def arm(model, beta):
    """The name of a model in a β grid: 'ae', or 'β=<value>' for a VAE."""
    return AE if model == AE else f"β={beta:g}"
