"""The training protocol of a profile: params/<profile>/protocol.yaml, the one place for it.

The file has an `all` section and, optionally, one section per dataset that overrides it;
a notebook may override single fields with its `protocol` parameter (a dict). A dry run
(profile `<profile>-dry`) reads the base profile's file and applies params/dry.yaml's
`protocol` section last.
"""
import yaml

from . import paths, rules
from .datasets import DATASETS

TRAINING = ("n_train", "max_epochs", "patience", "min_delta", "anneal", "batch_size", "lr", "seed")
# independent repeats; smallest effect that matters (in the primary metric's units); test level;
# random streams per model of the continuation check (its gain is their median), its length in epochs,
# whether its gain is read against the best epoch's selection effect (convergence.selection_effect), and
# the gain (nats per image) a converged model stays below
ANALYSIS = ("repeats", "min_effect", "alpha", "continuation_streams", "continuation_epochs",
            "continuation_selection", "continuation_max_gain")
FIELDS = TRAINING + ANALYSIS


def training_fields(protocol):
    """The part of a protocol that goes into every TrainConfig."""
    return {k: protocol[k] for k in TRAINING}


DRY_SECTIONS = ("protocol", "images", "parameters")


def read_yaml(path, what):
    """The mapping in YAML file `path` (empty: {}); ValueError naming the file and `what` it is for."""
    try:
        with open(path) as fh:
            value = yaml.safe_load(fh)
    except yaml.YAMLError as err:
        raise ValueError(f"{path} ({what}) is not valid YAML: {err}") from err
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{path} ({what}) must hold a mapping of names to values, not {type(value).__name__}")
    return value


def dry_file():
    """params/dry.yaml: the budgets of every dry run."""
    return paths.PROJECT_ROOT / "params" / "dry.yaml"


def dry_overlay():
    """params/dry.yaml: what a dry run replaces (sections protocol, images, parameters)."""
    path = dry_file()
    overlay = read_yaml(path, "the dry run's budgets")
    unknown = sorted(set(overlay) - set(DRY_SECTIONS))
    bad = sorted(set(overlay.get("protocol", {})) - set(FIELDS))
    images = overlay.get("images")
    if not (isinstance(images, dict) and set(images) == {"train", "test"}
            and all(isinstance(v, int) and v >= 20 for v in images.values())):
        raise ValueError(f"{path}: images={images!r} is not allowed; it must be {{train: N, test: M}}, integers >= 20")
    replaced = overlay.get("parameters", {})
    if not isinstance(replaced, dict) or "profile" in replaced:
        raise ValueError(f"{path}: parameters={replaced!r} is not allowed; it must map notebook parameters "
                         f"(not `profile`) to values")
    if unknown or bad:
        raise ValueError(f"{path}: unknown section(s) {unknown} (allowed: {', '.join(DRY_SECTIONS)}), "
                         f"unknown protocol field(s) {bad} (allowed: {', '.join(FIELDS)})")
    return overlay


def protocol_file(profile):
    paths.check_profile(profile)
    return paths.PROJECT_ROOT / "params" / paths.params_profile(profile) / "protocol.yaml"


def load(profile, dataset, overrides=None):
    """The protocol of `profile` for `dataset` (`all`, then the dataset's section, then
    `overrides`); ValueError naming an unknown section or field, or a missing one."""
    path = protocol_file(profile)
    sections = read_yaml(path, f"the training protocol of profile {paths.params_profile(profile)!r}")
    unknown = sorted(set(sections) - {"all", *DATASETS})
    if unknown:
        raise ValueError(f"{path.name} of profile {profile!r}: unknown section(s) {unknown}; "
                         f"allowed: all, {', '.join(DATASETS)}")
    if overrides is not None and not isinstance(overrides, dict):
        raise ValueError(f"protocol={overrides!r} is not allowed; it must be a mapping of protocol fields")
    merged = {**sections.get("all", {}), **sections.get(dataset, {}), **(overrides or {})}
    bad = sorted(set(merged) - set(FIELDS))
    missing = sorted(set(FIELDS) - set(merged))
    if bad or missing:
        raise ValueError(f"protocol of profile {profile!r} for {dataset!r} ({path} and the run's `protocol` "
                         f"overrides): unknown field(s) {bad}, "
                         f"missing field(s) {missing}; the fields are {', '.join(FIELDS)}")
    if paths.is_dry(profile):                        # checked above on the profile's own fields
        merged.update(dry_overlay().get("protocol", {}))
    problems = rules.protocol_problems(merged, f"protocol of profile {profile!r} for {dataset!r} ({shown(path)}"
                                               f"{' and the run' + chr(39) + 's overrides' if overrides else ''})")
    if problems:
        raise ValueError("\n".join(str(p) for p in problems))
    return merged


def file_problems(profile):
    """Every problem of the profile's protocol.yaml, section by section (`rules.Problem`s): unknown
    sections or fields, bad values, and fields that no section gives a dataset."""
    path = protocol_file(profile)
    shown_path = str(shown(path))
    try:
        sections = read_yaml(path, f"the training protocol of profile {paths.params_profile(profile)!r}")
    except (OSError, ValueError) as err:
        return [rules.Problem(shown_path, "(file)", None, str(err))]
    found = []
    for name, fields in sections.items():
        if name not in ("all", *DATASETS):
            found.append(rules.Problem(shown_path, name, "(section)", f"allowed sections: all, {', '.join(DATASETS)}"))
            continue
        found += rules.protocol_problems(fields, f"{shown_path} [{name}]")
    given = set(sections.get("all", {}) or {})
    missing = sorted(set(FIELDS) - given)
    if missing:
        found.append(rules.Problem(shown_path, "all", sorted(given), f"the section `all` must give every field; "
                                                                     f"missing: {', '.join(missing)}"))
    if paths.is_dry(profile):
        found += rules.protocol_problems(dry_overlay().get("protocol", {}), f"{shown(dry_file())} [protocol]")
    return found


def shown(path):
    """`path` relative to the repository when inside it."""
    try:
        return path.relative_to(paths.PROJECT_ROOT)
    except ValueError:
        return path
