"""Datasets as in-memory float tensors in [0, 1], and the train/validation splits.

MNIST and Fashion-MNIST come through torchvision; Frey Face from `frey_rawface.mat`.
`binarized_mnist` is MNIST with binary pixels, as in the likelihood literature (Burda et al.
2016): training images are binarised anew each time a batch is drawn (dynamic binarisation:
the grey levels are the probabilities), validation and test images once, with fixed seeds.
The root folder is $VAE_DATA_DIR (default: `data/` in the repository).
"""
import functools
import os
from dataclasses import dataclass

import numpy as np
import torch
from torchvision import datasets as tv_datasets
from torchvision.datasets.utils import check_integrity

from ..config.datasets import DATASETS, DatasetInfo, dataset_info  # noqa: F401  (the registry, re-exported)
from ..config.paths import PROJECT_ROOT, data_dir, data_limit
from .fetch import FREY_FILE, FREY_MD5, FREY_URL, DataError, data_files, ensure  # noqa: F401

TORCHVISION = {"mnist": tv_datasets.MNIST, "fashion_mnist": tv_datasets.FashionMNIST}
FREY_TEST_FRACTION = 0.1
FREY_SPLIT_SEED = 0
BINARISE_SEEDS = {"train": 101, "test": 102}   # the fixed binarisations of binarized_mnist
FREY_BLOCK = 50          # frames per contiguous block of the video; test blocks are drawn whole
FREY_GAP = 10            # frames dropped on each side of a test block, so no training frame is its neighbour
# Bumped when a dataset's images or split change, so cached models of the old data are not reused.
DATA_VERSIONS = {"frey_face": 3}    # 2: contiguous split with gaps, dequantised pixels; 3: validation blocks too
VIDEO = {"frey_face"}    # frames of one video: validation, like test, is whole blocks of frames with gaps


@dataclass(frozen=True)
class ImageData:
    """One dataset: flattened float32 images in [0, 1]; labels are None when unlabelled."""
    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor | None
    test_x: torch.Tensor
    test_y: torch.Tensor | None
    image_shape: tuple
    likelihood: str
    train_p: torch.Tensor | None = None     # dynamic binarisation: each pixel's probability of 1

    @property
    def d_x(self):
        return self.train_x.shape[1]


def torchvision_root(cls):
    """A root folder from which torchvision can read `cls`, with archives checked against its md5s.

    A folder named by $VAE_DATA_DIR is only read: verified archives are linked into
    `.cache/data` and extracted there, and missing ones are downloaded there. Without
    $VAE_DATA_DIR, missing archives are downloaded into `data/` in the repository.
    """
    root = data_dir()
    raw = root / cls.__name__ / "raw"
    names = [name for name, _ in cls.resources]
    mirror = PROJECT_ROOT / ".cache" / "data"
    for name, md5 in cls.resources:
        if (raw / name).exists() and not check_integrity(str(raw / name), md5):
            raise DataError(f"{raw / name} is corrupted (md5 differs from torchvision's {md5}); "
                            f"delete it to download it again, or fix VAE_DATA_DIR")
    if not all((raw / name).exists() for name in names):
        if all((raw / os.path.splitext(name)[0]).exists() for name in names):
            return root                                   # already extracted there
        target = mirror if os.environ.get("VAE_DATA_DIR") else root     # never write into VAE_DATA_DIR
        for file in data_files([{"MNIST": "mnist", "FashionMNIST": "fashion_mnist"}[cls.__name__]]):
            if not (raw / file.path.rsplit("/", 1)[-1]).exists():
                ensure(file, target)                      # atomic, md5-checked (vae_utils.core.fetch)
        for name in names:                                # the ones VAE_DATA_DIR has, linked beside them
            if (raw / name).exists() and not (target / cls.__name__ / "raw" / name).exists():
                (target / cls.__name__ / "raw" / name).symlink_to((raw / name).resolve())
        return target
    mirror_raw = mirror / cls.__name__ / "raw"
    mirror_raw.mkdir(parents=True, exist_ok=True)
    for name in names:
        link = mirror_raw / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to((raw / name).resolve())
    return mirror


def _load_torchvision(name):
    cls = TORCHVISION[name]
    try:
        root = torchvision_root(cls)
        train = cls(str(root), train=True, download=True)
        test = cls(str(root), train=False, download=True)
    except DataError:
        raise
    except (OSError, RuntimeError) as err:  # torchvision reports a failed download this way
        expected = ", ".join(os.path.basename(u) for u, _ in cls.resources)
        raise DataError(
            f"{name}: could not load or download the data in {data_dir() / cls.__name__ / 'raw'}; "
            f"expected files: {expected}. Put them there or point VAE_DATA_DIR at a folder "
            f"that holds {cls.__name__}/raw/ ({err})") from err
    to_x = lambda ds: ds.data.reshape(len(ds.data), -1).float().div_(255.0)
    return to_x(train), train.targets.clone(), to_x(test), test.targets.clone()


def _load_frey_face():
    folder = data_dir() / "FreyFace"
    path = folder / FREY_FILE
    if not path.exists():
        try:
            ensure(data_files(["frey_face"])[0])          # atomic, md5-checked (vae_utils.core.fetch)
        except DataError as err:
            raise DataError(f"frey_face: {path} is missing and could not be fetched; expected file: "
                            f"FreyFace/{FREY_FILE} under VAE_DATA_DIR ({data_dir()}) ({err})") from err
    if not check_integrity(str(path), FREY_MD5):
        raise DataError(f"{path} is corrupted (md5 is not {FREY_MD5}); delete it to download it again")
    from scipy.io import loadmat
    faces = loadmat(str(path))["ff"].T.reshape(-1, DATASETS["frey_face"].d_x)
    x = dequantise(torch.from_numpy(faces.astype(np.int64)), seed=FREY_SPLIT_SEED)
    train_idx, test_idx = frey_split(len(x))
    return x[train_idx], None, x[test_idx], None


def dequantise(levels, seed=0):
    """8-bit grey levels k as continuous pixels (k + u) / 256, u ~ U[0, 1) drawn once (seeded),
    so that a density over [0, 1]^D measures them (a Gaussian cannot collapse onto the levels)."""
    noise = torch.rand(levels.shape, generator=torch.Generator().manual_seed(seed))
    return (levels.float() + noise) / 256.0


def blocks_with_gaps(n, blocks, size, gap=FREY_GAP):
    """Of `n` frames in time order: (the frames kept, the frames of `blocks`, blocks of `size`),
    with `gap` frames on each side of every held-out block in neither set."""
    role = np.zeros(n, dtype=int)                    # 0 kept, 1 held out, 2 gap
    for b in blocks:
        role[max(0, b * size - gap):(b + 1) * size + gap] = 2
    for b in blocks:
        role[b * size:(b + 1) * size] = 1
    return np.flatnonzero(role == 0), np.flatnonzero(role == 1)


def frey_split(n):
    """Frey Face (one video, no official test set): training and test indices in time order,
    with no test frame next to a training frame. The frames are cut into contiguous blocks of
    FREY_BLOCK; a seeded FREY_TEST_FRACTION of the blocks is the test set, and FREY_GAP frames on
    each side of every test block belong to neither set."""
    n_blocks = n // FREY_BLOCK
    n_test = max(1, int(round(FREY_TEST_FRACTION * n_blocks)))
    test_blocks = np.sort(np.random.default_rng(FREY_SPLIT_SEED).choice(n_blocks, n_test, replace=False))
    kept, held = blocks_with_gaps(n, test_blocks, FREY_BLOCK)
    return torch.as_tensor(kept), torch.as_tensor(held)


def data_version(name):
    """The version of a dataset's images and split (1 unless DATA_VERSIONS says otherwise)."""
    return DATA_VERSIONS.get(name, 1)


def binarise(p, seed):
    """Binary images drawn pixel by pixel with probabilities `p` (seeded)."""
    return (torch.rand(p.shape, generator=torch.Generator().manual_seed(seed)) < p).float()


def load_dataset(name):
    """Load a dataset once per process (train and test sets, flattened, float32 in [0, 1]);
    in a dry run ($VAE_DATA_LIMIT) only its first training and test images."""
    return _load_dataset(name, tuple(sorted((data_limit() or {}).items())))


@functools.lru_cache(maxsize=None)
def _load_dataset(name, limit):
    info = dataset_info(name)
    if name == "binarized_mnist":
        grey = load_dataset("mnist")
        return ImageData(name, binarise(grey.train_x, BINARISE_SEEDS["train"]), grey.train_y,
                         binarise(grey.test_x, BINARISE_SEEDS["test"]), grey.test_y, info.image_shape,
                         info.likelihood, train_p=grey.train_x)
    loader = _load_frey_face if name == "frey_face" else functools.partial(_load_torchvision, name)
    train_x, train_y, test_x, test_y = loader()
    if limit:
        n, m = dict(limit)["train"], dict(limit)["test"]
        cut = lambda t, k: None if t is None else t[:k].clone()
        train_x, train_y, test_x, test_y = cut(train_x, n), cut(train_y, n), cut(test_x, m), cut(test_y, m)
    return ImageData(name, train_x, train_y, test_x, test_y, info.image_shape, info.likelihood)


load_dataset.cache_clear = _load_dataset.cache_clear      # tests reload data under other settings


def binariser(config, device):
    """The random stream of a config's dynamic binarisation (its own, so the other draws stay put)."""
    return torch.Generator(device).manual_seed(config.seed * 1000 + config.repeat + 7919)


def binarise_batch(p, generator):
    """A batch binarised anew from its pixel probabilities `p` with `generator`'s stream."""
    return (torch.rand(p.shape, generator=generator, device=p.device) < p).float()



VAL_FRACTION = 0.1       # of each repeat's images, held out for validation (early stopping)


def check_split(repeat, n_train=None, n=None):
    """ValueError naming the first bad split parameter (`n`, when known, bounds the blocks)."""
    if not isinstance(repeat, int) or repeat < 0:
        raise ValueError(f"repeat={repeat!r} is not allowed; it must be an integer >= 0")
    if n_train is not None and (not isinstance(n_train, int) or n_train < 20):
        raise ValueError(f"n_train={n_train!r} is not allowed; it must be an integer >= 20, or null for "
                         f"the whole training set")
    if n is not None and n_train is not None and (repeat + 1) * n_train > n:
        raise ValueError(f"repeat={repeat} with n_train={n_train} needs {(repeat + 1) * n_train} training "
                         f"images for disjoint repeats; this dataset has {n} (allowed repeats: "
                         f"0 … {n // n_train - 1})")


def repeat_indices(n, repeat, seed, n_train=None):
    """Training and validation indices of repeat `repeat` out of `n` training images.

    With `n_train`, the training set is permuted once (by `seed`) and cut into disjoint blocks
    of `n_train` images; repeat r uses block r, so repeats share no image. Without it, every
    repeat uses the whole training set in its own seeded order (repeats differ in data order,
    initialisation and noise). Either way the last VAL_FRACTION of the repeat's images are
    its own validation set.
    """
    check_split(repeat, n_train, n)
    if n_train is None:
        pool = np.random.default_rng([seed, repeat]).permutation(n)
    else:
        pool = np.random.default_rng(seed).permutation(n)[repeat * n_train:(repeat + 1) * n_train]
    n_val = max(1, int(round(VAL_FRACTION * len(pool))))
    return torch.as_tensor(pool[:-n_val]), torch.as_tensor(pool[-n_val:])


def images_per_repeat(config):
    """How many training images (validation included) a config's repeat sees: its block, or all."""
    return config.n_train or len(load_dataset(config.dataset).train_x)


def video_indices(n, repeat, seed):
    """Training and validation indices of repeat `repeat` out of `n` frames of a video in time
    order: the frames are cut into blocks of FREY_BLOCK (fewer for a short video), a seeded
    VAL_FRACTION of the blocks (each repeat its own) is the validation set, and FREY_GAP frames on
    each side of every validation block are in neither set, so no validation frame is a training
    frame's neighbour. The training frames are in the repeat's own seeded order."""
    check_split(repeat)
    block = min(FREY_BLOCK, max(1, n // 10))
    n_blocks = n // block
    rng = np.random.default_rng([seed, repeat])
    val_blocks = rng.choice(n_blocks, max(1, int(round(VAL_FRACTION * n_blocks))), replace=False)
    kept, held = blocks_with_gaps(n, val_blocks, block)
    return torch.as_tensor(rng.permutation(kept)), torch.as_tensor(held)


def config_split(config, n_images):
    """The training and validation indices of a training config, out of `n_images` (the one split):
    `video_indices` for a video dataset (VIDEO), else `repeat_indices`."""
    if config.dataset in VIDEO:
        if config.n_train is not None:
            raise ValueError(f"n_train={config.n_train!r} is not allowed for {config.dataset} (a video: its "
                             f"repeats use every training frame, with validation blocks of their own); use null")
        return video_indices(n_images, config.repeat, config.seed)
    return repeat_indices(n_images, config.repeat, config.seed, config.n_train)


def entropy_floor(x):
    """Mean over images of the summed binary entropy of the grey levels, in nats per image:
    the lowest value the Bernoulli reconstruction term (BCE) can take on these images."""
    p = x.double().clamp(1e-12, 1 - 1e-12)
    return float(-(p * p.log() + (1 - p) * (1 - p).log()).sum(1).mean())
