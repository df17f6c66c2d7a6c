"""The datasets the study knows, as facts available without loading them (and without torch):
the one registry that data loading, the models and the parameter checks read."""
from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    """What the code knows about a dataset before loading it: the one place for these facts."""
    name: str
    image_shape: tuple
    likelihood: str                 # the default reconstruction likelihood
    class_names: tuple | None       # None: unlabelled
    train_size: int                 # images in its training set (Frey Face: the frames before its test block)

    @property
    def d_x(self):
        return self.image_shape[0] * self.image_shape[1]


DATASETS = {
    "mnist": DatasetInfo("mnist", (28, 28), "bernoulli", tuple(str(i) for i in range(10)), 60000),
    "fashion_mnist": DatasetInfo("fashion_mnist", (28, 28), "bernoulli",
                                 ("T-shirt", "Trouser", "Pullover", "Dress", "Coat",
                                  "Sandal", "Shirt", "Sneaker", "Bag", "Boot"), 60000),
    "frey_face": DatasetInfo("frey_face", (28, 20), "gaussian", None, 1685),
    "binarized_mnist": DatasetInfo("binarized_mnist", (28, 28), "bernoulli", tuple(str(i) for i in range(10)), 60000),
}


DISPLAY_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "frey_face": "Frey Face",
                 "binarized_mnist": "binarised MNIST"}     # as a reader writes them


def dataset_info(name):
    """The registry entry of `name`; ValueError naming the allowed datasets otherwise."""
    if name not in DATASETS:
        raise ValueError(f"dataset={name!r} is not known; allowed: {', '.join(DATASETS)}")
    return DATASETS[name]
