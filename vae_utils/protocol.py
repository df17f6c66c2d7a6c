"""The training protocol of a profile: params/<profile>/protocol.yaml, the one place for it.

The file has an `all` section and, optionally, one section per dataset that overrides it;
a notebook may override single fields with its `protocol` parameter (a dict).
"""
import yaml

from . import paths
from .data import DATASETS

TRAINING = ("n_train", "max_epochs", "patience", "min_delta", "batch_size", "lr", "seed")
ANALYSIS = ("repeats", "min_effect", "alpha")   # independent repeats; smallest effect that matters
FIELDS = TRAINING + ANALYSIS                    # (in the primary metric's units); test level


def training_fields(protocol):
    """The part of a protocol that goes into every TrainConfig."""
    return {k: protocol[k] for k in TRAINING}


def protocol_file(profile):
    paths.check_profile(profile)
    return paths.PROJECT_ROOT / "params" / profile / "protocol.yaml"


def load(profile, dataset, overrides=None):
    """The protocol of `profile` for `dataset` (`all`, then the dataset's section, then
    `overrides`); ValueError naming an unknown section or field, or a missing one."""
    path = protocol_file(profile)
    with open(path) as fh:
        sections = yaml.safe_load(fh) or {}
    unknown = sorted(set(sections) - {"all", *DATASETS})
    if unknown:
        raise ValueError(f"{path.name} of profile {profile!r}: unknown section(s) {unknown}; "
                         f"allowed: all, {', '.join(DATASETS)}")
    merged = {**sections.get("all", {}), **sections.get(dataset, {}), **(overrides or {})}
    bad = sorted(set(merged) - set(FIELDS))
    missing = sorted(set(FIELDS) - set(merged))
    if bad or missing:
        raise ValueError(f"protocol of profile {profile!r} for {dataset!r}: unknown field(s) {bad}, "
                         f"missing field(s) {missing}; the fields are {', '.join(FIELDS)}")
    if not isinstance(merged["repeats"], int) or merged["repeats"] < 2:
        raise ValueError(f"repeats={merged['repeats']!r} is not allowed; it must be an integer >= 2")
    if not merged["min_effect"] > 0 or not 0 < merged["alpha"] < 1:
        raise ValueError(f"min_effect={merged['min_effect']!r} must be > 0 and alpha={merged['alpha']!r} in (0, 1)")
    return merged
