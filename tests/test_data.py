import numpy as np
import pytest
import torch
from torchvision.datasets import MNIST

from vae_utils.core import data


def test_tiny_idx_files_load_as_floats_in_unit_interval(tiny_mnist):
    root, arrays = tiny_mnist
    ds = data.load_dataset("mnist")
    assert ds.train_x.shape == (12, 784) and ds.test_x.shape == (6, 784)
    assert ds.train_x.dtype == torch.float32
    assert 0.0 <= ds.train_x.min() and ds.train_x.max() <= 1.0
    expected = torch.as_tensor(arrays["train-images-idx3-ubyte.gz"].reshape(12, -1) / 255.0,
                               dtype=torch.float32)
    assert torch.allclose(ds.train_x, expected)
    assert ds.train_y.tolist() == list(np.arange(12) % 10)
    assert ds.likelihood == "bernoulli"
    # the data folder is only read: extraction happens in the project's cache
    assert sorted(p.name for p in (root / "MNIST" / "raw").iterdir()) == sorted(arrays)


def test_corrupted_archive_is_reported(tiny_mnist):
    root, _ = tiny_mnist
    path = root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(data.DataError, match="corrupted"):
        data.load_dataset("mnist")


def test_missing_files_without_network_name_folder_and_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "PROJECT_ROOT", tmp_path / "project")   # downloads go to its .cache/data
    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])   # nothing listens there
    data.load_dataset.cache_clear()
    with pytest.raises(data.DataError) as err:
        data.load_dataset("mnist")
    message = str(err.value)
    assert str(tmp_path) in message and "VAE_DATA_DIR" in message
    assert "train-images-idx3-ubyte.gz" in message
    data.load_dataset.cache_clear()


def test_unknown_dataset_is_rejected():
    with pytest.raises(ValueError, match="dataset='cifar'.*allowed"):
        data.load_dataset("cifar")


def test_disjoint_repeats_share_no_image_and_carve_their_own_validation():
    splits = [data.repeat_indices(1000, r, seed=3, n_train=200) for r in range(5)]
    used = [set(torch.cat(s).tolist()) for s in splits]
    assert all(len(u) == 200 for u in used)
    assert sum(len(u) for u in used) == len(set().union(*used)) == 1000     # pairwise disjoint
    for train, val in splits:
        assert len(val) == 20 and not set(train.tolist()) & set(val.tolist())
    assert torch.equal(data.repeat_indices(1000, 2, seed=3, n_train=200)[1], splits[2][1])
    assert not torch.equal(data.repeat_indices(1000, 2, seed=4, n_train=200)[1], splits[2][1])


def test_whole_set_repeats_differ_in_order_and_validation():
    a, b = data.repeat_indices(100, 0, seed=0), data.repeat_indices(100, 1, seed=0)
    assert sorted(torch.cat(a).tolist()) == sorted(torch.cat(b).tolist()) == list(range(100))
    assert len(a[1]) == 10 and not torch.equal(a[1], b[1])


def test_too_many_disjoint_repeats_are_rejected_naming_the_limit():
    with pytest.raises(ValueError, match=r"repeat=5 with n_train=200.*allowed repeats: 0 … 4"):
        data.repeat_indices(1000, 5, seed=0, n_train=200)
    with pytest.raises(ValueError, match="repeat=-1"):
        data.check_split(-1)


def test_entropy_floor_is_the_bce_of_a_perfect_reconstruction():
    x = torch.tensor([[0.0, 0.5, 1.0], [0.25, 0.75, 0.5]])
    bce = torch.nn.functional.binary_cross_entropy(x, x, reduction="none").sum(1).mean()
    assert data.entropy_floor(x) == pytest.approx(float(bce), rel=1e-6)
    assert data.entropy_floor(torch.tensor([[0.0, 1.0]])) == pytest.approx(0.0, abs=1e-9)


def test_frey_face_split_is_fixed_contiguous_and_leaves_gaps():
    train, test = data.frey_split(1965)
    assert len(test) == 200 and len(train) == 1685 and not set(train.tolist()) & set(test.tolist())
    assert torch.equal(data.frey_split(1965)[1], test)
    # whole blocks of consecutive frames, and no training frame within FREY_GAP of a test frame
    starts = [t for t in test.tolist() if t - 1 not in set(test.tolist())]
    assert len(starts) == 4 and all(s % data.FREY_BLOCK == 0 for s in starts)
    gaps = torch.cdist(test[:, None].double(), train[:, None].double()).min()
    assert gaps > data.FREY_GAP
    train_set = set(train.tolist())
    assert not any(t - 1 in train_set or t + 1 in train_set for t in test.tolist())   # no neighbour in training


def test_dequantised_pixels_sit_inside_their_grey_level():
    levels = torch.tensor([[0, 7, 255]])
    x = data.dequantise(levels, seed=3)
    assert torch.equal(torch.floor(x * 256).long(), levels) and torch.equal(x, data.dequantise(levels, seed=3))


@pytest.mark.skipif(not (data.data_dir() / "FreyFace" / data.FREY_FILE).exists(),
                    reason="Frey Face file not available (set VAE_DATA_DIR)")
def test_frey_face_loads_as_28x20_gaussian_images():
    data.load_dataset.cache_clear()
    ds = data.load_dataset("frey_face")
    assert ds.image_shape == (28, 20) and ds.likelihood == "gaussian"
    assert ds.train_x.shape == (1685, 560) and ds.test_x.shape == (200, 560)
    assert ds.train_y is None
    assert 0.0 < ds.train_x.min() and ds.train_x.max() < 1.0   # raw pixels run from 8 to 238


@pytest.mark.skipif(not (data.data_dir() / "MNIST" / "raw").exists(), reason="MNIST not available (set VAE_DATA_DIR)")
def test_binarized_mnist_is_binary_with_grey_probabilities_for_training():
    ds = data.load_dataset("binarized_mnist")
    grey = data.load_dataset("mnist")
    assert set(ds.train_x.unique().tolist()) == {0.0, 1.0} and set(ds.test_x.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(ds.train_p, grey.train_x) and torch.equal(ds.train_y, grey.train_y)
    # a pixel of grey level p is 1 about p of the time, and the fixed draws are repeatable
    assert abs(float(ds.test_x.mean() - grey.test_x.mean())) < 0.002
    assert torch.equal(ds.test_x, data.binarise(grey.test_x, data.BINARISE_SEEDS["test"]))
    assert ds.likelihood == "bernoulli" and ds.image_shape == (28, 28)


def test_frey_face_validation_is_whole_blocks_away_from_training_frames():
    from vae_utils.core.data import FREY_GAP, config_split, load_dataset
    from vae_utils.engine.training import TrainConfig
    n = len(load_dataset("frey_face").train_x)
    splits = [config_split(TrainConfig(dataset="frey_face", model="ae", n_layers=1, d_z=5, repeat=r, n_train=None), n)
              for r in range(3)]
    for train, val in splits:
        train, val = np.asarray(train), np.asarray(val)
        assert len(val) >= 0.08 * n and not set(train) & set(val)
        assert np.abs(val[:, None] - train[None, :]).min() > FREY_GAP       # no neighbour of a training frame
    assert len({tuple(np.asarray(v)) for _, v in splits}) == 3             # each repeat its own blocks
    with pytest.raises(ValueError, match="n_train=600 is not allowed for frey_face"):
        config_split(TrainConfig(dataset="frey_face", model="ae", n_layers=1, d_z=5, n_train=600), n)
