"""The stacked trainer against the single-model reference `training.fit`, on CPU and small data."""
import math

import pytest
import torch

from vae_utils.core.data import ImageData, config_split
from vae_utils.engine import cache, experiments, stacked, training
from vae_utils.engine.training import TrainConfig

# Stacked and single training do the same arithmetic in a different order (one baddbmm over
# K members instead of K addmms), so float32 results differ in the last bits. After one epoch
# (8 Adam steps here) such differences stay near float32's resolution (~1e-7) times the few
# hundred terms each output sums; 1e-5 relative leaves an order of magnitude of room while a
# wrong batch, seed, noise draw or β (differences of 1e-2 or more) fails it. Measured here:
# at most 1.4e-7 relative, AE and VAE.
RTOL = 1e-5
CPU = torch.device("cpu")   # the equivalence holds on the CPU, where stacked noise is fit's noise


@pytest.fixture
def tiny_data(monkeypatch):
    """600 training and 100 test images of MNIST's shape, in [0, 1]."""
    g = torch.Generator().manual_seed(0)
    ds = ImageData("mnist", torch.rand(600, 784, generator=g), torch.arange(600) % 10,
                   torch.rand(100, 784, generator=g), torch.arange(100) % 10, (28, 28), "bernoulli")
    for module in (training, stacked):
        monkeypatch.setattr(module, "load_dataset", lambda name: ds)
    return ds


def member_configs(model="vae", **kw):
    """Four configs that differ in repeat, seed, β and prior: one architecture, one stack."""
    base = dict(dataset="mnist", model=model, n_layers=2, d_z=2, max_epochs=1, batch_size=50, n_train=200)
    base.update(kw)
    variants = [dict(repeat=0), dict(repeat=1), dict(repeat=2, seed=7)]
    if model == "vae":
        variants += [dict(repeat=0, beta=0.5, prior_mean=(1.0, -2.0), prior_std=(0.5, 2.0))]
    return [TrainConfig(**{**base, **v}) for v in variants]


def assert_close(a, b, what, rtol=RTOL):
    assert math.isclose(a, b, rel_tol=rtol, abs_tol=1e-7), f"{what}: {a} vs {b}"


def test_initial_parameters_are_the_ones_fit_draws(tiny_data):
    configs = member_configs()
    trainer = stacked.StackedTrainer(configs, tiny_data, CPU)
    stacked_layers = [m for m in trainer.model.modules() if isinstance(m, stacked.StackedLinear)]
    for k, config in enumerate(configs):
        reference, _ = training.init_model(config)
        linears = [m for part in trainer.model.parts for m in getattr(reference, part).modules()
                   if isinstance(m, torch.nn.Linear)]
        assert len(linears) == len(stacked_layers)
        for single, layer in zip(linears, stacked_layers):
            assert torch.equal(single.weight, layer.weight[k].t())
            assert torch.equal(single.bias, layer.bias[k, 0])
        assert torch.equal(reference.prior_mean, trainer.model.prior_mean[k, 0])
        assert torch.equal(reference.prior_std, trainer.model.prior_std[k, 0])


def test_batches_are_the_ones_fit_draws(tiny_data):
    configs = member_configs()
    trainer = stacked.StackedTrainer(configs, tiny_data, CPU)
    trainer.train_epoch()
    for k, config in enumerate(configs):
        train_idx, _ = config_split(config, len(tiny_data.train_x))
        _, shuffler = training.init_model(config)
        # `training.train_epoch` batches x_train[randperm(...)], x_train = train_x[train_idx]
        expected = train_idx[torch.randperm(len(train_idx), generator=shuffler)]
        assert torch.equal(trainer.order[k], expected)
    assert trainer.n_full == 3 and trainer.rest == 30     # 180 training images per repeat


@pytest.mark.parametrize("model, likelihood", [("vae", "bernoulli"), ("ae", "bernoulli"),
                                               ("vae", "gaussian"), ("ae", "gaussian")])
def test_one_epoch_matches_fit_member_by_member(tiny_data, model, likelihood):
    configs = member_configs(model, likelihood=likelihood)
    together = stacked.fit_stacked(configs, device=CPU, progress=False)
    for config, result in zip(configs, together):
        alone = training.fit(config, device=CPU, progress=False)
        assert result.config == config and result.stack_size == len(configs)
        for key in ("train_loss", "train_recon", "train_kl", "val_loss", "val_bce"):
            assert_close(result.history[0][key], alone.history[0][key], f"{config.label()} {key}")
        assert result.test.keys() == alone.test.keys()
        for key in alone.test:
            assert_close(result.test[key], alone.test[key], f"{config.label()} {key}")


# (learned-σ members: 8 epochs, 3 of the 4 to the cap, so the last-bit differences grow a little)
@pytest.mark.parametrize("model, likelihood, max_epochs, min_delta, rtol", [("ae", "bernoulli", 40, 0.001, RTOL),
                                                                            ("vae", "bernoulli", 40, 0.001, RTOL),
                                                                            ("vae", "gaussian", 8, 0.01, 1e-4)])
def test_each_member_stops_early_as_fit_would(tiny_data, model, likelihood, max_epochs, min_delta, rtol, monkeypatch):
    # members that stop at different epochs leave the stack; the others must go on as `fit` would
    configs = member_configs(model, likelihood=likelihood, max_epochs=max_epochs, patience=2, min_delta=min_delta)
    kept = []
    keep = stacked.StackedTrainer.keep
    monkeypatch.setattr(stacked.StackedTrainer, "keep", lambda self, p: kept.append(list(p)) or keep(self, p))
    together = stacked.fit_stacked(configs, device=CPU, progress=False)
    assert len({r.stopping["epochs_run"] for r in together}) > 1 and kept, "no member left the stack early"
    for config, result in zip(configs, together):
        alone = training.fit(config, device=CPU, progress=False)
        assert result.stopping == alone.stopping
        assert len(result.history) == len(alone.history)
        for key in alone.test:
            assert_close(result.test[key], alone.test[key], f"{config.label()} {key}", rtol)


def test_the_annealing_phase_after_a_stack_is_the_one_fit_gives(tiny_data):
    configs = member_configs("vae", max_epochs=12, patience=2, min_delta=0.01, anneal=0.1)
    together = stacked.fit_stacked(configs, device=CPU, progress=False)
    for config, result in zip(configs, together):
        alone = training.fit(config, device=CPU, progress=False)
        assert result.stopping == alone.stopping and result.stopping["annealed_after"] < len(result.history)
        for key in alone.test:
            assert_close(result.test[key], alone.test[key], f"{config.label()} {key}")


def test_members_differ_and_stacked_training_is_deterministic(tiny_data):
    configs = member_configs(max_epochs=2)
    first = stacked.fit_stacked(configs, device=CPU, progress=False)
    second = stacked.fit_stacked(configs, device=CPU, progress=False)
    assert [r.test for r in first] == [r.test for r in second]
    assert [r.history for r in first] != [] and len({r.test["test_loss"] for r in first}) == len(configs)


def test_a_member_whose_loss_is_not_finite_fails_alone(tiny_data, monkeypatch):
    configs = member_configs()
    healthy = stacked.fit_stacked(configs, device=CPU, progress=False)
    init_model = training.init_model

    def poisoned(config):
        model, generator = init_model(config)
        if config.repeat == 1:
            with torch.no_grad():
                model.decoder[0].weight.fill_(float("nan"))
        return model, generator
    monkeypatch.setattr(stacked, "init_model", poisoned)
    outcomes = stacked.fit_stacked(configs, device=CPU, progress=False)
    assert isinstance(outcomes[1], FloatingPointError) and "repeat=1" in str(outcomes[1])
    for k in (0, 2, 3):
        assert outcomes[k].test == healthy[k].test


def test_only_configs_of_one_architecture_stack(tiny_data):
    a, b = member_configs()[:2]
    with pytest.raises(ValueError, match="may differ only in"):
        stacked.check_stackable([a, TrainConfig(**{**b.to_dict(), "n_layers": 3})])
    with pytest.raises(ValueError, match="same config twice"):
        stacked.check_stackable([a, a])
    groups = stacked.stack_groups(member_configs() + member_configs(n_layers=3), max_members=3)
    assert [len(g) for g in groups] == [3, 1, 3, 1]
    assert all(len({stacked.stack_key(c) for c in g}) == 1 for g in groups)


def test_run_all_trains_in_stacks_and_caches_each_member(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path))
    configs = member_configs() + member_configs(n_layers=1)
    results = experiments.run_all(configs, device=CPU, max_stack=4)
    assert {r.stack_size for r in results.values()} == {4}
    assert len([p for p in tmp_path.iterdir() if p.name != ".locks"]) == len(configs)
    for config in configs:
        loaded = cache.load(config)
        assert loaded is not None and loaded.test == results[config].test and loaded.stack_size == 4
    monkeypatch.setattr(stacked, "fit_stacked", lambda *a, **k: pytest.fail("retrained a cached model"))
    monkeypatch.setattr(experiments, "fit", lambda *a, **k: pytest.fail("retrained a cached model"))
    assert experiments.run_all(configs, device=CPU, max_stack=4).keys() == results.keys()


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@needs_cuda
@pytest.mark.parametrize("batch_size", [50, 48])   # 48: a partial last batch after the graph replays
def test_cuda_graph_training_matches_fit_for_an_ae(tiny_data, batch_size):
    # An AE draws no noise, so CUDA-graph stacked training and `fit` on the GPU see the same
    # data; cuBLAS may pick other kernels for bmm than for mm, hence a looser 1e-4.
    configs = member_configs("ae", max_epochs=2, batch_size=batch_size)
    together = stacked.fit_stacked(configs, device="cuda", progress=False)
    for config, result in zip(configs, together):
        alone = training.fit(config, device="cuda", progress=False)
        for epoch in range(2):
            for key in ("train_loss", "val_loss"):
                a, b = result.history[epoch][key], alone.history[epoch][key]
                assert math.isclose(a, b, rel_tol=1e-4), f"{config.label()} epoch {epoch} {key}: {a} vs {b}"


@needs_cuda
def test_cuda_graph_vae_training_is_deterministic(tiny_data):
    configs = member_configs("vae", max_epochs=2, batch_size=48)
    first = stacked.fit_stacked(configs, device="cuda", progress=False)
    second = stacked.fit_stacked(configs, device="cuda", progress=False)
    assert [r.history[-1]["train_loss"] for r in first] == [r.history[-1]["train_loss"] for r in second]
    assert [r.test for r in first] == [r.test for r in second]
    cpu = stacked.fit_stacked(configs, device="cpu", progress=False)
    for g, c in zip(first, cpu):      # other noise draws, same data: close, not equal
        assert math.isclose(g.test["test_loss"], c.test["test_loss"], rel_tol=0.05)


@pytest.mark.parametrize("model", ["ae", "vae"])
def test_dynamically_binarised_training_matches_fit(tiny_data, model, monkeypatch):
    # binarized_mnist-like data: binary stored images, grey probabilities binarised anew per batch
    ds = ImageData("mnist", (tiny_data.train_x > 0.5).float(), tiny_data.train_y, tiny_data.test_x.round(),
                   tiny_data.test_y, (28, 28), "bernoulli", train_p=tiny_data.train_x)
    for module in (training, stacked):
        monkeypatch.setattr(module, "load_dataset", lambda name: ds)
    configs = member_configs(model, max_epochs=2)
    together = stacked.fit_stacked(configs, device=CPU, progress=False)
    for config, result in zip(configs, together):
        alone = training.fit(config, device=CPU, progress=False)
        for key in ("train_loss", "val_loss"):
            assert_close(result.history[-1][key], alone.history[-1][key], f"{config.label()} {key}")
    # the batches really are binarised anew: training on the stored binary images differs
    monkeypatch.setattr(training, "load_dataset", lambda name: ImageData(*[getattr(ds, f) for f in (
        "name", "train_x", "train_y", "test_x", "test_y", "image_shape", "likelihood")]))
    static = training.fit(configs[0], device=CPU, progress=False)
    assert static.history[0]["train_loss"] != together[0].history[0]["train_loss"]
