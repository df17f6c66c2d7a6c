"""What a profile's runs will train, known from their parameter files before anything trains: the
models each run needs (built by the same functions its notebook calls: `measure.grid_configs`,
`measure.beta_configs`, …) and the classifiers that score its samples. `scripts/train.py` trains
them up front, as jobs (`vae_utils.engine.jobs`), so that the runs afterwards only load them.

tests/test_plan.py checks every committed run's tables against its plan."""
from dataclasses import dataclass

from ..config import notebooks, runspec
from ..config.datasets import dataset_info
from ..engine import jobs
from . import generation, measure


@dataclass(frozen=True)
class Classifier:
    """A classifier a run scores samples with (`metrics.classifier.train_classifier`'s arguments)."""
    dataset: str
    epochs: int
    seed: int
    n_train: int | None


def train_classifier(classifier, threads=None):
    """Job: the `Classifier` from the cache, or trained and cached (`metrics.classifier`)."""
    jobs.use_threads(threads)
    from ..metrics.classifier import train_classifier as train
    train(classifier.dataset, epochs=classifier.epochs, seed=classifier.seed, n_train=classifier.n_train)
    return classifier.dataset


def _labelled(dataset):
    return dataset_info(dataset).class_names is not None


def _classifier(spec):
    return Classifier(spec.dataset, spec.value("classifier_epochs"), spec.protocol["seed"],
                      spec.value("classifier_n_train"))


def _with_linear(configs):
    """One `run_all` call of `measure.ae_vs_vae`: its grid, then the PCA check's linear AEs."""
    return configs + measure.linear_configs(configs)


def _depth(spec):
    configs = measure.grid_configs(spec.protocol, spec.dataset,
                                   {"d_z": spec.value("d_z_list"), "n_layers": spec.value("n_layers_list")})
    gaussian = dataset_info(spec.dataset).likelihood == "gaussian"        # Frey Face: the study's fixed σ² too
    return [_with_linear(configs)] + ([measure.original_protocol_configs(configs)] if gaussian else []), []


def _latent(spec):
    return [_with_linear(measure.grid_configs(spec.protocol, spec.dataset, {"d_z": spec.value("d_z_list")},
                                              n_layers=spec.value("n_layers")))], []


def _beta(spec):
    configs, figure = measure.beta_configs(spec.protocol, spec.dataset, spec.value("betas"), spec.value("n_layers"),
                                           spec.value("d_z"), spec.value("figure_d_z"))
    scored = "generates" in spec.value("claims") and _labelled(spec.dataset)
    return [configs + figure + measure.linear_configs(configs)], [_classifier(spec)] if scored else []


def _generation(spec):
    configs = measure.grid_configs(spec.protocol, spec.dataset, {"d_z": spec.value("d_z_list")},
                                   n_layers=spec.value("n_layers"))
    repeats = list(range(spec.protocol["repeats"]))
    shifted, standard = generation.shifted_prior_configs(configs, repeats, spec.value("shifted_prior_mean"),
                                                         spec.value("shifted_prior_std"))
    return [_with_linear(configs), shifted + standard], [_classifier(spec)] if _labelled(spec.dataset) else []


def _data_size(spec):
    return [_with_linear(measure.grid_configs(spec.protocol, spec.dataset,
                                              {"n_train": spec.value("n_train_list"), "d_z": spec.value("d_z_list")},
                                              n_layers=spec.value("n_layers")))], \
        [_classifier(spec)] if spec.value("generation") else []


PLANNERS = {"depth": _depth, "latent": _latent, "beta": _beta, "generation": _generation, "data_size": _data_size}
# a notebook's tag (`config.notebooks`) → what its run trains, from its parameters: one list of
# configs per `experiments.run_all` call its notebook makes, in order, and its classifiers


def calls(spec):
    """([configs of each `run_all` call the run makes, in order], classifiers) for the run `spec`
    (`runspec.RunSpec`); nothing for a notebook that trains nothing (the theory notebook)."""
    tag = notebooks.notebook(spec.notebook_name).tag
    if tag is None:
        return [], []
    if tag not in PLANNERS:
        raise ValueError(f"{spec.notebook_name} has no training plan; planned tags: {', '.join(PLANNERS)}")
    found, classifiers = PLANNERS[tag](spec)
    return [list(dict.fromkeys(call)) for call in found], list(dict.fromkeys(classifiers))


def needs(spec):
    """(model configs, classifiers) the run `spec` trains or loads, each once."""
    found, classifiers = calls(spec)
    return list(dict.fromkeys(c for call in found for c in call)), classifiers


def profile_calls(profile, runs=None):
    """([configs], classifiers) of `runs` (default: every run) of `profile` as the runs would ask
    for them executed one after another in run order: each call's models not asked for before
    (a model two runs share belongs to the first), so that grouping each call into stacks gives
    the stacks the runs themselves would train."""
    seen, ordered, classifiers = set(), [], []
    for run in runs or runspec.runs_of(profile):
        found, wanted = calls(runspec.resolve(profile, run))
        for call in found:
            new = [c for c in call if c not in seen]
            seen.update(new)
            if new:
                ordered.append(new)
        classifiers += [c for c in wanted if c not in classifiers]
    return ordered, classifiers


def profile_needs(profile, runs=None):
    """(model configs, classifiers) of `runs` (default: every run) of `profile`, each once, in run
    order: a model two runs share appears once."""
    ordered, classifiers = profile_calls(profile, runs)
    return [c for call in ordered for c in call], classifiers
