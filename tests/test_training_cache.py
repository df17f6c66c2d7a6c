import json
import math
from dataclasses import asdict

import pytest
import torch

from vae_utils.engine import cache, experiments, store, training
from vae_utils.engine.training import TrainConfig


@pytest.fixture
def tiny_data(monkeypatch):
    """A small deterministic stand-in for MNIST so training tests take a second."""
    from vae_utils.core.data import ImageData
    g = torch.Generator().manual_seed(0)
    ds = ImageData("mnist", torch.rand(300, 784, generator=g), torch.arange(300) % 10,
                   torch.rand(50, 784, generator=g), torch.arange(50) % 10, (28, 28), "bernoulli")
    calls = []

    def fake_load(name):
        calls.append(name)
        return ds
    monkeypatch.setattr(training, "load_dataset", fake_load)
    return calls


def train_or_load(config, root):
    """Load `config`'s model from the cache at `root`, or train and cache it (run_all on one config)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VAE_CACHE_DIR", str(root))
        return experiments.run_all([config], device="cpu")[config]


def cached(root):
    """What a cache folder holds besides its locks (.locks/)."""
    return sorted(p for p in root.iterdir() if p.name != ".locks")


def small(**kw):
    base = dict(dataset="mnist", model="vae", n_layers=2, d_z=2, max_epochs=2, batch_size=50,
                n_train=100, repeat=0)
    base.update(kw)
    return TrainConfig(**base)


@pytest.mark.parametrize("kwargs, match", [
    (dict(dataset="cifar"), "dataset='cifar'"), (dict(model="gan"), "model='gan'"),
    (dict(likelihood="poisson"), "likelihood='poisson'"), (dict(n_layers=0), "n_layers=0"),
    (dict(d_z=0), "d_z=0"), (dict(d_z=784), "d_z=784"), (dict(beta=-1.0), "beta=-1.0"),
    (dict(max_epochs=0), "max_epochs=0"), (dict(patience=0), "patience=0"),
    (dict(min_delta=1.0), "min_delta=1.0"), (dict(batch_size=0), "batch_size=0"),
    (dict(prior_mean=(5.0, 10.0), prior_std=(1.0, -1.0)), "prior_std"),
    (dict(model="ae", prior_mean=(5.0, 10.0)), "prior"), (dict(repeat=-1), "repeat=-1"),
    (dict(n_train=5), "n_train=5"), (dict(anneal=1.0), "anneal=1.0"), (dict(anneal=0), "anneal=0"),
])
def test_bad_parameters_fail_before_any_data_is_loaded(tiny_data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        small(**kwargs)
    assert tiny_data == []


def test_training_is_deterministic_and_records_history(tiny_data):
    a, b = training.fit(small(), progress=False), training.fit(small(), progress=False)
    assert a.test == b.test
    assert [h["val_loss"] for h in a.history] == [h["val_loss"] for h in b.history]
    assert len(a.history) == 2 and {"train_loss", "val_bce", "val_mse", "val_l1"} <= set(a.history[0])
    assert {"test_bce", "test_kl", "test_sampled_bce"} <= set(a.test)
    c = training.fit(small(repeat=1), progress=False)
    assert c.test != a.test


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    model = torch.nn.Linear(2, 2)
    stopper = training.EarlyStopping(patience=3, min_delta=0.01)
    losses = [10.0, 8.0, 7.0, 6.99, 6.98, 7.5]       # the last significant gain is at epoch 3
    stops = []
    for epoch, loss in enumerate(losses, 1):
        with torch.no_grad():
            model.weight.fill_(epoch)
        stops.append(stopper.update(epoch, loss, model))
    assert stops == [False] * 5 + [True]
    assert stopper.best_epoch == 5 and stopper.best == 6.98
    stopper.restore(model)
    assert torch.all(model.weight == 5)
    assert stopper.summary(6, 100) == {"best_epoch": 5, "epochs_run": 6, "stopped_early": True, "hit_cap": False}


def test_fit_stops_early_keeps_the_best_epoch_and_reports_the_elbo(tiny_data):
    r = training.fit(small(max_epochs=60, patience=2, min_delta=0.05), progress=False)
    val = [h["val_loss"] for h in r.history]
    assert r.stopping["stopped_early"] and len(val) < 60 and r.stopping["epochs_run"] == len(val)
    assert val[r.stopping["best_epoch"] - 1] == min(val)
    again = training.evaluate(r.model, tiny_val_images(r.config), "bernoulli", sample=True)
    assert again["loss"] == pytest.approx(min(val), rel=1e-5)         # the restored weights are the best epoch's
    assert r.test["test_elbo"] == pytest.approx(-(r.test["test_sampled_recon"] + r.test["test_kl"]))
    assert {"train_eval_loss", "val_loss"} <= set(r.history[0])


def tiny_val_images(config):
    from vae_utils.core.data import config_split
    ds = training.load_dataset("mnist")
    return ds.train_x[config_split(config, len(ds.train_x))[1]]


def test_sampled_evaluation_is_repeatable_and_leaves_the_global_stream_alone():
    model = training.model_for(small())
    x = torch.rand(20, 784)
    torch.manual_seed(1)
    a = training.evaluate(model, x, "bernoulli", sample=True)
    after_a = torch.rand(1)
    torch.manual_seed(1)
    b = training.evaluate(model, x, "bernoulli", sample=True)
    assert a == b and torch.equal(torch.rand(1), after_a)
    assert a != training.evaluate(model, x, "bernoulli", sample=False)


def test_ae_reports_zero_kl_and_no_sampled_metrics(tiny_data):
    r = training.fit(small(model="ae"), progress=False)
    assert r.test["test_kl"] == 0 and "test_sampled_bce" not in r.test


def test_non_finite_loss_stops_training_and_caches_nothing(tiny_data, tmp_path):
    with pytest.raises(FloatingPointError, match="epoch 1.*mnist"):
        train_or_load(small(lr=1e30), tmp_path)
    assert cached(tmp_path) == []


def test_second_call_loads_from_cache_without_training(tiny_data, tmp_path, monkeypatch):
    first = train_or_load(small(), tmp_path)
    monkeypatch.setattr(experiments, "fit", lambda *a, **k: pytest.fail("retrained a cached model"))
    second = train_or_load(small(), tmp_path)
    assert second.test == first.test and second.history == first.history
    x = torch.rand(4, 784)
    assert torch.equal(second.model(x, sample=False).logits, first.model(x, sample=False).logits)
    assert len(cached(tmp_path)) == 1


def test_cache_key_depends_on_every_field():
    keys = {cache.cache_key(small()), cache.cache_key(small(seed=1)), cache.cache_key(small(repeat=1)),
            cache.cache_key(small(beta=2.0)), cache.cache_key(small(max_epochs=3)),
            cache.cache_key(small(n_train=None))}
    assert len(keys) == 6


@pytest.mark.parametrize("damage", ["truncate_model", "drop_json", "bad_json", "other_config"])
def test_damaged_or_partial_entries_are_not_loaded(tiny_data, tmp_path, damage):
    result = train_or_load(small(), tmp_path)
    folder = cache.entry_dir(small(), tmp_path)
    if damage == "truncate_model":
        data = (folder / "model.pt").read_bytes()
        (folder / "model.pt").write_bytes(data[: len(data) // 2])
    elif damage == "drop_json":
        (folder / "run.json").unlink()
    elif damage == "bad_json":
        (folder / "run.json").write_text("{not json")
    else:
        info = json.loads((folder / "run.json").read_text())
        info["config"]["max_epochs"] = 99
        (folder / "run.json").write_text(json.dumps(info))
    with pytest.warns(UserWarning, match="retraining cache entry .* because it is unreadable"):
        assert cache.load(small(), tmp_path) is None
    # train_or_load retrains and replaces the bad entry with a good one
    with pytest.warns(UserWarning):
        again = train_or_load(small(), tmp_path)
    assert again.test == result.test
    assert cache.load(small(), tmp_path) is not None


def test_temporary_folders_are_never_loaded(tiny_data, tmp_path):
    (tmp_path / (cache.cache_key(small()) + ".tmp-123")).mkdir()
    assert cache.load(small(), tmp_path) is None


def test_only_a_dataset_with_new_data_gets_a_new_key():
    # models of MNIST keep the keys they always had; Frey Face's (new split, version 2) change
    mnist = small()
    assert cache.cache_key(mnist) == store.key_of({"config": mnist.to_dict(), "cache_version": cache.CACHE_VERSION})
    frey = TrainConfig(dataset="frey_face", model="vae", n_layers=1, d_z=2)
    assert cache.cache_key(frey) != store.key_of({"config": frey.to_dict(), "cache_version": cache.CACHE_VERSION})


def test_a_learned_sigma_model_trains_and_loads_back_with_its_sigma(tiny_data, tmp_path):
    config = small(likelihood="gaussian")
    first = train_or_load(config, tmp_path)
    loaded = cache.load(config, tmp_path)
    assert loaded.model.log_scale is not None and torch.equal(loaded.model.log_scale, first.model.log_scale)
    assert loaded.model.log_scale.item() != math.log(0.1)          # σ was trained
    assert loaded.test == first.test


def test_a_shifted_prior_model_loads_back_from_the_cache(tiny_data, tmp_path):
    # run.json stores the prior tuples as lists; the cache once compared them with tuples,
    # never matched, and retrained these models on every run
    config = small(prior_mean=(5.0, 10.0), prior_std=(1.0, 1.0))
    first = train_or_load(config, tmp_path)
    loaded = cache.load(config, tmp_path)
    assert loaded is not None and loaded.test == first.test


def test_a_concurrent_writers_good_entry_is_kept_and_a_stale_one_replaced(tiny_data, tmp_path):
    # under make -j2 two notebooks may train the same config; the second writer must not fail
    result = train_or_load(small(), tmp_path)
    folder = cache.entry_dir(small(), tmp_path)
    before = (folder / "run.json").stat().st_mtime_ns
    cache.save(result, tmp_path)                       # a second writer of the same config
    assert (folder / "run.json").stat().st_mtime_ns == before and cache.load(small(), tmp_path) is not None
    info = json.loads((folder / "run.json").read_text())
    info["config"]["max_epochs"] = 99                      # an entry that does not hold this config
    (folder / "run.json").write_text(json.dumps(info))
    cache.save(result, tmp_path)
    assert cache.load(small(), tmp_path) is not None
    assert [p.name for p in cached(tmp_path)] == [folder.name]      # no temporary folder left


def test_the_annealing_phase_goes_on_from_the_best_epoch_at_the_lower_rate(tiny_data, monkeypatch):
    plain = training.fit(small(max_epochs=30, patience=2, min_delta=0.01), progress=False)
    rates = []
    make = training.make_optimizer
    monkeypatch.setattr(training, "make_optimizer", lambda model, lr, **kw: rates.append(lr) or make(model, lr, **kw))
    annealed = training.fit(small(max_epochs=30, patience=2, min_delta=0.01, anneal=0.1), progress=False)
    first = annealed.stopping["annealed_after"]
    assert rates == [1e-3, pytest.approx(1e-4)]
    timeless = lambda history: [{k: v for k, v in h.items() if k != "seconds"} for h in history]
    assert first == len(plain.history) and timeless(annealed.history[:first]) == timeless(plain.history)   # phase 1
    epochs = [h["epoch"] for h in annealed.history]
    assert len(epochs) > first and epochs == list(range(1, len(epochs) + 1))
    best = min(range(len(annealed.history)), key=lambda i: annealed.history[i]["val_loss"])
    assert annealed.stopping["best_epoch"] == best + 1 and annealed.history[best]["val_loss"] <= min(
        h["val_loss"] for h in plain.history)
    x_val = training.training_data(annealed.config, "cpu")[1]
    restored = training.evaluate(annealed.model, x_val, "bernoulli", sample=True)["loss"]
    assert restored == pytest.approx(annealed.history[best]["val_loss"], rel=1e-5)   # the best epoch's weights


def test_a_config_without_annealing_keeps_the_cache_key_it_had_before_the_field():
    plain, annealed = small(), small(anneal=0.1)
    assert "anneal" not in plain.to_dict() and annealed.to_dict()["anneal"] == 0.1
    assert TrainConfig(**plain.to_dict()) == plain and TrainConfig(**annealed.to_dict()) == annealed
    assert cache.cache_key(plain) == store.key_of({"config": {k: v for k, v in asdict(plain).items() if k != "anneal"},
                                                   "cache_version": cache.CACHE_VERSION})
    assert cache.cache_key(annealed) != cache.cache_key(plain)
