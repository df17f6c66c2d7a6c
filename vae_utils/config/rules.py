"""What values a run's parameters and a profile's protocol fields may take, checked before any work.

Each rule returns None for a good value, else the words saying what is allowed. `protocol_problems`
and `parameter_problems` return every problem at once as `Problem`s (file, field, value, allowed),
so that `scripts/run_notebook.py --check` prints one line per problem before anything trains. The
library's own checks at training time (`TrainConfig.validate`, `beta.check_*`) read the same rules.
Only the standard library and the dataset registry are imported: no torch.
"""
import math
from dataclasses import dataclass

from .datasets import DATASETS, dataset_info
from .notebooks import NOTEBOOKS


@dataclass(frozen=True)
class Problem:
    file: str
    field: str
    value: object
    allowed: str

    def __str__(self):
        return f"{self.file}: {self.field}: {self.value!r} is not allowed; {self.allowed}"


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def integer(low, high=None, none=None):
    """An integer in [low, high]; `none` (words) when null is allowed too."""
    words = f"it must be an integer >= {low}" + (f" and <= {high}" if high is not None else "")
    words += f", or null ({none})" if none else ""

    def rule(v, context=None):
        if v is None and none:
            return None
        return None if is_int(v) and v >= low and (high is None or v <= high) else words
    return rule


def number(low, high=None, low_open=False, high_open=False, none=None):
    """A finite number between `low` and `high` (open ends where said); `none` as for `integer`."""
    left = f"> {low}" if low_open else f">= {low}"
    words = f"it must be a number {left}" + (f" and {'<' if high_open else '<='} {high}" if high is not None else "")
    words += f", or null ({none})" if none else ""

    def rule(v, context=None):
        if v is None and none:
            return None
        ok = is_number(v) and (v > low if low_open else v >= low)
        ok = ok and (high is None or (v < high if high_open else v <= high))
        return None if ok else words
    return rule


def one_of(options):
    def rule(v, context=None):
        return None if isinstance(v, str) and v in options else f"allowed: {', '.join(options)}"
    return rule


def boolean(v, context=None):
    return None if isinstance(v, bool) else "it must be true or false"


def d_z(v, context=None):
    """A code size: 1 <= d_z < d_x of the run's dataset (784 for MNIST, 560 for Frey Face)."""
    d_x = dataset_info(context["dataset"]).d_x if context and context.get("dataset") in DATASETS else None
    if is_int(v) and v >= 1 and (d_x is None or v < d_x):
        return None
    return f"it must be an integer with 1 <= d_z < d_x{f' = {d_x}' if d_x else ''}"


def optional(rule, meaning):
    def checked(v, context=None):
        if v is None:
            return None
        problem = rule(v, context)
        return problem and f"{problem}, or null ({meaning})"
    return checked


def list_of(rule, min_len=1, distinct=False):
    """A list of at least `min_len` values, each allowed by `rule` (and distinct, where asked)."""
    def checked(v, context=None):
        if not isinstance(v, list) or len(v) < min_len:
            return f"it must be a list of at least {min_len} value(s), each: {rule(object(), context)}"
        for item in v:
            problem = rule(item, context)
            if problem:
                return f"{item!r} in it: {problem}"
        hashable = [repr(x) for x in v]
        if distinct and len(set(hashable)) != len(hashable):
            return "its values must be distinct"
        return None
    return checked


MAX_LAYERS = 20     # deeper than the study's 7, with room to explore; the widths stay distinct for d_z << d_x
PROTOCOL = {        # params/<profile>/protocol.yaml, every field (vae_utils.config.protocol.FIELDS)
    "n_train": integer(20, none="the whole training set"),
    "max_epochs": integer(1),
    "patience": integer(1),
    "min_delta": number(0, 1, high_open=True),
    "anneal": number(0, 1, low_open=True, high_open=True, none="no annealing phase"),
    "batch_size": integer(1),
    "lr": number(0, low_open=True),
    "seed": integer(0),
    "repeats": integer(2),
    "min_effect": number(0, low_open=True),
    "alpha": number(0, 1, low_open=True, high_open=True),
    "continuation_streams": integer(1),
    "continuation_epochs": integer(2),
    "continuation_selection": boolean,
    "continuation_max_gain": number(0, low_open=True),
}

CLAIM_KEYS = ("ae_like", "vae_like", "clusters", "generates")   # the claims notebook 4 may test
GENERATION_METRICS = ("frechet", "kid")    # claim 5's primary metric: Fréchet or kernel distance
CLUSTER_METRICS = ("nmi",)
BETA = number(0)
SIZE = integer(20, none="the whole training set")

PARAMETERS = {      # a notebook parameter's rule, by name (every notebook uses a name in one sense)
    "dataset": one_of(tuple(DATASETS)),
    "seed": integer(0),
    "n_mc": integer(1000),
    "n_layers": integer(1, MAX_LAYERS),
    "n_layers_list": list_of(integer(1, MAX_LAYERS), distinct=True),
    "recon_depths": list_of(integer(1, MAX_LAYERS), min_len=0, distinct=True),
    "d_z": d_z,
    "d_z_list": list_of(d_z, distinct=True),
    "figure_d_z": optional(d_z, "no 2-D figures"),
    "grid_d_z": d_z,
    "n_show": integer(1, 100),
    "iw_samples": integer(1),
    "assert_converged": boolean,
    "betas": list_of(BETA, distinct=True),
    "ae_like_betas": list_of(BETA, min_len=0, distinct=True),
    "vae_like_betas": list_of(BETA, min_len=0, distinct=True),
    "claims": list_of(one_of(CLAIM_KEYS), distinct=True),
    "cluster_metric": one_of(CLUSTER_METRICS),
    "min_cluster_effect": number(0, low_open=True),
    "nmi_min_effect": number(0, low_open=True),
    "n_samples": integer(2),
    "generation": boolean,
    "classifier_epochs": integer(1),
    "classifier_n_train": integer(100, none="the whole training set"),
    "min_accuracy": number(0, 1),       # 0: no requirement (the dry runs' tiny budgets)
    "pixel_components": integer(1),
    "generation_metric": one_of(GENERATION_METRICS),
    "min_generation_effect": number(0, low_open=True),
    "min_frechet_effect": number(0, low_open=True),
    "shifted_prior_mean": list_of(number(-math.inf)),
    "shifted_prior_std": list_of(number(0, low_open=True)),
    "n_train_list": list_of(SIZE, min_len=2),
}


def betas_problem(betas):
    """Words for `betas` that are not distinct finite numbers >= 0 including 1 (the plain VAE); None if fine."""
    problem = PARAMETERS["betas"](betas)
    if problem:
        return problem
    return None if 1 in betas else "it must include 1 (the plain VAE)"


def claims_problems(claims, betas, ae_like_betas, vae_like_betas, dataset):
    """[(field, value, allowed)] for notebook 4's claims and their β lists, taken together."""
    found = []
    problem = PARAMETERS["claims"](claims)
    if problem:
        return [("claims", claims, problem)]
    for field, values, claim in (("ae_like_betas", ae_like_betas, "ae_like"),
                                 ("vae_like_betas", vae_like_betas, "vae_like")):
        missing = [b for b in values if b not in betas] if claim in claims and isinstance(values, list) else []
        if missing:
            found.append((field, values, f"its β values {missing} are not in betas={betas}"))
    if "clusters" in claims and dataset in DATASETS and dataset_info(dataset).class_names is None:
        found.append(("claims", claims, f"it includes 'clusters', but {dataset} has no labels; drop it here"))
    return found


def sizes_problem(sizes):
    """Words for an n_train_list that is not ascending with null (the whole set) last; None if fine."""
    problem = PARAMETERS["n_train_list"](sizes)
    if problem:
        return problem
    given = [s for s in sizes if s is not None]
    if None in sizes[:-1]:
        return "null (the whole training set) must come last"
    if given != sorted(set(given)) or len(set(sizes)) < 2:
        return "the sizes must be distinct and ascending, at least two of them"
    return None


def parameter_problems(values, file, dataset=None, notebook=None):
    """Every problem of a run's own parameter `values` (from `file`), each value by its rule and the
    values that must agree taken together; `dataset` is the run's (for d_z < d_x), `notebook` its
    notebook's name (some take only some datasets)."""
    context = {"dataset": dataset}
    found = []
    allowed = NOTEBOOKS[notebook].datasets if notebook in NOTEBOOKS else None
    if allowed and dataset in DATASETS and dataset not in allowed:
        found.append(Problem(file, "dataset", dataset, f"{notebook} allows: {', '.join(allowed)}"))
    for name, value in values.items():
        if name == "profile" or name == "protocol":
            continue
        rule = PARAMETERS.get(name)
        problem = rule and rule(value, context)
        if problem:
            found.append(Problem(file, name, value, problem))
    bad = {p.field for p in found}
    if "betas" in values and "betas" not in bad and betas_problem(values["betas"]):
        found.append(Problem(file, "betas", values["betas"], betas_problem(values["betas"])))
    if "n_train_list" in values and "n_train_list" not in bad and sizes_problem(values["n_train_list"]):
        found.append(Problem(file, "n_train_list", values["n_train_list"], sizes_problem(values["n_train_list"])))
    if "claims" in values and not bad & {"claims", "betas", "ae_like_betas", "vae_like_betas"}:
        found += [Problem(file, *p) for p in claims_problems(
            values["claims"], values.get("betas", []), values.get("ae_like_betas", []),
            values.get("vae_like_betas", []), dataset)]
    if "protocol" in values:
        found += protocol_problems(values["protocol"], f"{file} (its `protocol` overrides)")
    return found


def protocol_problems(fields, file):
    """Every problem of protocol `fields` (a mapping) from `file`: unknown names and bad values."""
    if not isinstance(fields, dict):
        return [Problem(file, "protocol", fields, "it must be a mapping of protocol fields to values")]
    found = []
    for name, value in fields.items():
        if name not in PROTOCOL:
            found.append(Problem(file, name, value, f"no such protocol field; the fields are {', '.join(PROTOCOL)}"))
            continue
        problem = PROTOCOL[name](value)
        if problem:
            found.append(Problem(file, name, value, problem))
    return found


def check_value(name, value, rules=PROTOCOL):
    """ValueError "name=value is not allowed; ..." unless `rules[name]` allows `value`."""
    problem = rules[name](value)
    if problem:
        raise ValueError(f"{name}={value!r} is not allowed; {problem}")
