"""A notebook run as one value: which notebook, which profile, its checked parameters and protocol.

A run is named by its parameter file, params/<profile>/<run>.yaml, whose stem up to "--" names
the notebook (e.g. <notebook>--mnist). `resolve` reads and
checks every file once and returns a `RunSpec`; scripts/run_notebook.py executes it and
`vae_utils.study.judge.rejudge` judges its committed tables with it.
"""
import ast
from dataclasses import dataclass
from pathlib import Path

from . import notebooks, paths, protocol, rules
from .datasets import DATASETS

TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,), "dict": (dict,)}


@dataclass(frozen=True)
class RunSpec:
    """One run: `parameters` are the run file's own values (plus a dry run's replacements and the
    profile), `defaults` the notebook's declared defaults, `protocol` the training protocol the
    run uses (None for a notebook without one)."""
    profile: str
    run: str
    notebook: Path
    parameters: dict
    defaults: dict
    protocol: dict | None

    def value(self, name):
        """The value the run gives parameter `name`: its own, else the notebook's default."""
        if name in self.parameters:
            return self.parameters[name]
        if name not in self.defaults:
            raise KeyError(f"{self.notebook.name} declares no parameter {name!r}")
        return self.defaults[name]

    @property
    def dataset(self):
        return self.value("dataset")

    @property
    def notebook_name(self):
        return self.notebook.stem


def run_file(profile, run):
    return paths.PROJECT_ROOT / "params" / paths.params_profile(profile) / f"{run}.yaml"


def runs_of(profile):
    """Every run of a profile: the stems of params/<profile>/[0-9]*.yaml."""
    folder = paths.PROJECT_ROOT / "params" / paths.params_profile(profile)
    return sorted(p.stem for p in folder.glob("[0-9]*.yaml"))


def shown(path):
    """`path` as messages show it: relative to the repository when inside it."""
    try:
        return path.relative_to(paths.PROJECT_ROOT)
    except ValueError:
        return path


def notebook_of(run):
    path = paths.PROJECT_ROOT / "notebooks" / f"{run.split('--')[0]}.ipynb"
    if not path.exists():
        raise ValueError(f"run {run!r} names no notebook (notebooks/{path.name} is missing)")
    return path


def declared_defaults(declared):
    """The notebook's parameter defaults as values (papermill's `inspect_notebook` gives source
    text); a default that is an expression is left out."""
    values = {}
    for name, info in declared.items():
        try:
            values[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            continue
    return values


def check_types(path, own, declared):
    """ValueError naming `path` for a value whose type differs from the type of the notebook's
    default (a default of None takes anything; an integer is a float; a bool is not an integer)."""
    defaults = declared_defaults(declared)
    for name, value in own.items():
        if name not in defaults:                    # a default that is an expression: not checked
            continue
        default = defaults[name]
        allowed = TYPES.get(type(default).__name__)
        if value is None or default is None or allowed is None:
            continue
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            raise ValueError(f"{shown(path)}: {name}={value!r} is not allowed; the notebook "
                             f"declares it as {type(default).__name__} (default {default!r})")


def parameters(profile, run, declared):
    """The run's own parameters (names the notebook declares, of its types, else an error naming
    the file), a dry run's replacements, and the profile."""
    path = run_file(profile, run)
    if not path.exists():
        raise ValueError(f"run {run!r} has no parameter file {path.relative_to(paths.PROJECT_ROOT)}")
    own = protocol.read_yaml(path, f"the parameters of run {run}")
    unknown = sorted(set(own) - set(declared))
    if unknown:
        raise ValueError(f"{path.relative_to(paths.PROJECT_ROOT)}: unknown parameter(s) {unknown}; "
                         f"allowed: {sorted(declared)}")
    check_types(path, own, declared)
    if paths.is_dry(profile):
        dry = {k: v for k, v in protocol.dry_overlay().get("parameters", {}).items() if k in declared}
        check_types(protocol.dry_file(), dry, declared)
        own.update(dry)
    if "profile" in declared:
        own["profile"] = profile
    return own


def protocol_of(params, declared):
    """The training protocol the run uses (for its metadata), or None for a notebook without one."""
    if "protocol" not in declared:
        return None
    dataset = params.get("dataset") or ast.literal_eval(declared["dataset"]["default"])
    return protocol.load(params.get("profile", "default"), dataset, params.get("protocol"))


def tag_of(notebook, dataset):
    """The prefix of the tables and figures of `notebook`'s run on `dataset`, e.g. 'depth-mnist'
    (the notebook's tag in `notebooks.NOTEBOOKS`)."""
    if notebook not in notebooks.JUDGED:
        raise ValueError(f"notebook={notebook!r} writes no run outputs; allowed: {', '.join(notebooks.JUDGED)}")
    return f"{notebooks.JUDGED[notebook].tag}-{dataset}"


def run_of(notebook, dataset):
    """The name of a notebook's run on `dataset` (its parameter file's stem, and the name of its
    outputs): `<notebook>--<dataset>`."""
    return f"{notebook}--{dataset}"


def check_name(run, notebook, params, defaults):
    """ValueError unless a notebook with a `dataset` parameter is run as `run_of(notebook, dataset)`:
    the name its outputs carry."""
    if "dataset" not in defaults:
        return
    dataset = params.get("dataset", defaults["dataset"])
    expected = run_of(notebook.stem, dataset)
    if run != expected:
        raise ValueError(f"run {run!r} is not allowed: it runs {notebook.name} with dataset={dataset!r}, so its "
                         f"parameter file must be named {expected}.yaml")


def resolve(profile, run):
    """The `RunSpec` of `run` in `profile`, every file checked; ValueError naming what is wrong."""
    import papermill as pm  # imported here: the rest of the library does not need it

    paths.check_profile(profile)
    notebook = notebook_of(run)
    declared = pm.inspect_notebook(str(notebook))
    params = parameters(profile, run, declared)
    defaults = declared_defaults(declared)
    check_name(run, notebook, params, defaults)
    return RunSpec(profile, run, notebook, params, defaults, protocol_of(params, declared))


def problems(profile, run, protocol_checked=False):
    """Every problem of run `run` of `profile`, one line each naming the file, the field, the value
    and what is allowed: its own values by `vae_utils.config.rules` (a dry run's replacements too), then what
    `resolve` checks (names, types, file name, the protocol; skipped when `protocol_checked` says
    the profile's protocol file has problems of its own, already reported)."""
    import papermill as pm

    try:
        notebook = notebook_of(run)
        path = run_file(profile, run)
        if not path.exists():
            raise ValueError(f"run {run!r} has no parameter file {shown(path)}")
        own = protocol.read_yaml(path, f"the parameters of run {run}")
        declared = pm.inspect_notebook(str(notebook))
    except ValueError as err:
        return [str(err)]
    dataset = own.get("dataset", declared_defaults(declared).get("dataset"))
    found = [str(p) for p in rules.parameter_problems(own, str(shown(path)), dataset, notebook.stem)]
    if paths.is_dry(profile):
        dry = {k: v for k, v in protocol.dry_overlay().get("parameters", {}).items() if k in declared}
        found += [str(p) for p in rules.parameter_problems(dry, f"{shown(protocol.dry_file())} [parameters]",
                                                            dataset, notebook.stem)]
    if found:
        return found
    try:
        if protocol_checked:
            check_name(run, notebook, parameters(profile, run, declared), declared_defaults(declared))
        else:
            resolve(profile, run)
    except ValueError as err:
        return str(err).splitlines()
    return []


def dry_environment(profile):
    """The environment of a dry run (empty for another profile): its data cut ($VAE_DATA_LIMIT) and
    its own model cache inside its results folder ($VAE_CACHE_DIR)."""
    if not paths.is_dry(profile):
        return {}
    images = protocol.dry_overlay()["images"]
    return {"VAE_DATA_LIMIT": f"{images['train']},{images['test']}",
            "VAE_CACHE_DIR": str(paths.published_dir(profile) / "models")}


def whole_size(dataset):
    """The images of `dataset`'s training set a run can use: all of them (in a dry run, its cut)."""
    limit = (paths.data_limit() or {}).get("train")
    whole = DATASETS[dataset].train_size
    return min(whole, limit) if limit else whole


def own_size(protocol_used, dataset):
    """Images per repeat of a protocol: the size every other notebook of the profile trains on
    (the whole training set when `n_train` is None; in a dry run, its cut)."""
    return protocol_used["n_train"] or whole_size(dataset)


def shared_metrics(profile, dataset, protocol_used):
    """The metrics whose rows at `own_size` are another notebook's models (`Notebook.shares` of the
    runs that take a share): those whose run in this profile and dataset trains on `protocol_used`."""
    folder = paths.PROJECT_ROOT / "params" / paths.params_profile(profile)
    shares = {metric: tag for nb in notebooks.JUDGED.values() for metric, tag in nb.shares.items()}
    shared = set()
    for metric, tag in shares.items():
        run = folder / f"{run_of(notebooks.by_tag(tag).name, dataset)}.yaml"
        if run.exists():
            overrides = protocol.read_yaml(run, "a run's parameters").get("protocol") or {}
            if protocol.load(profile, dataset, overrides) == protocol_used:
                shared.add(metric)
    return shared
