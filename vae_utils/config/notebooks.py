"""The study's notebooks, each written down once: its name, the prefix of its files, the datasets
it takes, the claims it tests and how many rows of each its parameters plan, and whose models its
rows share. Every other module reads this registry (runspec, rules, families, the judge, the
report, the stability rerun): adding a notebook is its .ipynb, its parameter files and one entry
here (tests/test_registry.py checks the three agree). Torch-free."""
from dataclasses import dataclass, field
from typing import Callable

from .datasets import dataset_info


@dataclass(frozen=True)
class Notebook:
    """One notebook of the study (see the module docstring)."""
    name: str                        # its file's stem, e.g. "02_ae_vs_vae_depth"
    tag: str | None                  # the prefix of its tables and figures; None: it writes no run outputs
    claims: tuple = ()               # the study's claims (1-5) its verdict rows may test
    planned: Callable = None         # (value, dataset) -> {claim: rows} its judge returns, from its parameters
    datasets: tuple | None = None    # the datasets it takes; None: every one in the dataset registry
    shares: dict = field(default_factory=dict)   # metric -> tag of the notebook whose models its rows at
    #                                              the profile's own size are (named as there, counted once)
    reruns: bool = False             # scripts/stability_rerun.py reruns it under other seeds

    @property
    def number(self):
        return self.name[:2]


def _depth(value, dataset):
    return {1: len(value("d_z_list")) * len(value("n_layers_list"))}


def _latent(value, dataset):
    return {1: len(value("d_z_list")) + (len(value("d_z_list")) > 1)}       # each d_z, and the trend


def _beta(value, dataset):
    claims, betas = value("claims"), value("betas")
    high = [b for b in betas if b >= 1]
    near = len(value("ae_like_betas")) * ("ae_like" in claims) + len(value("vae_like_betas")) * ("vae_like" in claims)
    return {3: near,
            4: (len(high) + 1) * ("clusters" in claims),                     # each β ≥ 1, and the trend
            5: 2 * len([b for b in betas if b > 1]) * ("generates" in claims)}   # own prior, fitted mixture


def _generation(value, dataset):
    labelled = dataset_info(dataset).class_names is not None
    return {2: 5 * len(value("d_z_list")) * labelled}     # 3 AE samplers against the prior, 2 like for like


def _data_size(value, dataset):
    sizes, d_z = value("n_train_list"), len(value("d_z_list"))
    per_claim = (len(sizes) + 1) * d_z                                       # each size, and the change
    scored = len(dict.fromkeys([sizes[0], sizes[-1]]))                     # claim 2: smallest and largest size
    return {1: per_claim, 4: per_claim, 2: 5 * d_z * scored * bool(value("generation"))}


NOTEBOOKS = {nb.name: nb for nb in (
    Notebook("01_theory", None),
    Notebook("02_ae_vs_vae_depth", "depth", (1,), _depth, reruns=True),
    Notebook("03_ae_vs_vae_latent_dim", "latent", (1,), _latent, reruns=True),
    Notebook("04_beta_vae", "beta", (3, 4, 5), _beta, reruns=True),
    Notebook("05_generation", "generation", (2,), _generation),
    Notebook("06_data_size", "data_size", (1, 2, 4), _data_size, datasets=("mnist", "fashion_mnist"),   # labelled:
             shares={"test_recon": "latent", "nmi": "beta", "frechet": "generation"}),                  # claims 2, 4
)}
JUDGED = {nb.name: nb for nb in NOTEBOOKS.values() if nb.tag}     # the notebooks that write run outputs


def notebook(name):
    """The registry entry of `name`; ValueError naming the known notebooks otherwise."""
    if name not in NOTEBOOKS:
        raise ValueError(f"notebook={name!r} is not in the study's registry; known: {', '.join(NOTEBOOKS)}")
    return NOTEBOOKS[name]


def by_tag(tag):
    """The notebook whose files carry the prefix `tag`."""
    found = [nb for nb in JUDGED.values() if nb.tag == tag]
    if not found:
        raise ValueError(f"no notebook has the tag {tag!r}; tags: {', '.join(nb.tag for nb in JUDGED.values())}")
    return found[0]


def planned(name, value, dataset):
    """{claim: rows} the run of notebook `name` on `dataset` tests, from its parameters (`value`:
    name -> the run's value); empty for a notebook that judges nothing."""
    entry = notebook(name)
    counts = entry.planned(value, dataset) if entry.planned else {}
    return {claim: n for claim, n in counts.items() if n}
