import numpy as np
import pytest
import torch
from torchvision.datasets import MNIST

from vae_utils import data


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


def test_kfold_splits_are_disjoint_seeded_and_cover_the_pool():
    folds = [data.train_val_indices(100, 5, f, seed=3) for f in range(5)]
    vals = torch.cat([v for _, v in folds])
    assert sorted(vals.tolist()) == list(range(100))
    for train, val in folds:
        assert not set(train.tolist()) & set(val.tolist())
        assert len(train) + len(val) == 100
    again = data.train_val_indices(100, 5, 2, seed=3)
    assert torch.equal(again[1], folds[2][1])
    assert not torch.equal(data.train_val_indices(100, 5, 2, seed=4)[1], folds[2][1])


def test_subset_split_uses_only_the_subset():
    train, val = data.train_val_indices(1000, 4, 0, seed=0, n_subset=200)
    assert len(train) + len(val) == 200
    with pytest.raises(ValueError, match="fold=4"):
        data.train_val_indices(100, 4, 4, seed=0)


def test_frey_face_split_is_one_fixed_disjoint_partition():
    train, test = data.frey_split(1965)
    assert len(test) == 196 and len(train) == 1769
    assert sorted(torch.cat([train, test]).tolist()) == list(range(1965))
    assert torch.equal(data.frey_split(1965)[1], test)


@pytest.mark.skipif(not (data.data_dir() / "FreyFace" / data.FREY_FILE).exists(),
                    reason="Frey Face file not available (set VAE_DATA_DIR)")
def test_frey_face_loads_as_28x20_gaussian_images():
    data.load_dataset.cache_clear()
    ds = data.load_dataset("frey_face")
    assert ds.image_shape == (28, 20) and ds.likelihood == "gaussian"
    assert ds.train_x.shape == (1769, 560) and ds.test_x.shape == (196, 560)
    assert ds.train_y is None
    assert 0.0 < ds.train_x.min() and ds.train_x.max() < 1.0   # raw pixels run from 8 to 238
