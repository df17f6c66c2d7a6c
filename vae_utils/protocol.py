"""The training protocol of a profile: params/<profile>/protocol.yaml, the one place for it.

The file has an `all` section and, optionally, one section per dataset that overrides it;
a notebook may override single fields with its `protocol` parameter (a dict).
"""
import yaml

from . import paths
from .data import DATASETS

FIELDS = ("folds", "n_folds", "n_train", "epochs", "batch_size", "lr", "seed")


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
    return merged
