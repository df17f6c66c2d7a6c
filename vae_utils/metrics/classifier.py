"""A small CNN per labelled dataset: the feature extractor for sample-quality metrics.

Trained once with a fixed seed and kept in the model store (`vae_utils.engine.store`), like the autoencoders.
"""
import torch
import torch.nn.functional as F
from torch import nn

from ..config.paths import data_limit
from ..core.data import dataset_info, load_dataset
from ..engine import store
from ..engine.reproducibility import pick_device, seed_everything

CLASSIFIER_VERSION = 3   # 3: initialised after seeding (2 drew its init from the global RNG)


class SmallCNN(nn.Module):
    """conv(32) → pool → conv(64) → pool → 128-d features → 10 logits."""

    def __init__(self, image_shape=(28, 28), n_classes=10):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        n_flat = self.conv(torch.zeros(1, 1, *self.image_shape)).shape[1]
        self.features = nn.Sequential(nn.Linear(n_flat, 128), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(0.25), nn.Linear(128, n_classes))

    def embed(self, x):
        """Penultimate 128-d features of flattened images (N, H*W) in [0, 1]."""
        return self.features(self.conv(x.view(-1, 1, *self.image_shape)))

    def forward(self, x):
        return self.head(self.embed(x))


@torch.no_grad()
def embed_and_predict(classifier, x, batch_size=2000):
    """Features and predicted classes of `x`, in one pass."""
    classifier.eval()
    feats, preds = [], []
    for start in range(0, len(x), batch_size):
        f = classifier.embed(x[start:start + batch_size])
        feats.append(f)
        preds.append(classifier.head(f).argmax(1))
    return torch.cat(feats), torch.cat(preds)


def train_classifier(dataset, epochs=6, batch_size=128, lr=1e-3, seed=0, n_train=None, device=None, root=None):
    """The cached classifier for `dataset` and its test accuracy; trained on first use
    (on the first `n_train` training images when given, for quick runs)."""
    data = load_dataset(dataset)
    if data.train_y is None:
        raise ValueError(f"dataset={dataset!r} has no labels; a classifier needs mnist or fashion_mnist")
    limit = data_limit()                     # a dry run's classifier is its own entry
    config = {"dataset": dataset, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
              "n_train": n_train, "version": CLASSIFIER_VERSION, **({"data_limit": limit} if limit else {})}
    key = store.key_of(config, prefix="classifier-")
    folder = store.entry_dir(key, root)
    with store.key_lock(key, root):          # notebooks 4 and 5 under make -j2: one trains, one waits
        n_classes = len(dataset_info(dataset).class_names)
        model = SmallCNN(data.image_shape, n_classes)
        info = store.load_entry(folder, "config", config, model)
        if info is not None:
            return model.eval(), info["test_accuracy"]
        return _train(model, data, folder, config, device)


def _train(model, data, folder, config, device):
    """Train the classifier of `config` from its seed, cache it in `folder`; (model, test accuracy)."""
    epochs, batch_size, lr, seed, n_train = (config[k] for k in ("epochs", "batch_size", "lr", "seed", "n_train"))
    device = pick_device(device)
    generator = seed_everything(seed)
    model = SmallCNN(data.image_shape, model.head[1].out_features).to(device)   # initialised from `seed` alone
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = data.train_x[:n_train].to(device), data.train_y[:n_train].to(device)
    steps = epochs * -(-len(x) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)  # lr → 0 at the end
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(x), generator=generator).to(device).split(batch_size):
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    model = model.cpu().eval()
    _, pred = embed_and_predict(model, data.test_x)
    accuracy = (pred == data.test_y).float().mean().item()
    folder.parent.mkdir(parents=True, exist_ok=True)
    store.write_entry(folder, model.state_dict(), {"key": folder.name, "config": config, "test_accuracy": accuracy},
                      "config")
    return model, accuracy
