"""Sample-quality metrics between generated and real images, on classifier features.

Fréchet distance; precision and recall with k-nearest-neighbour manifolds (Kynkäänniemi
et al., 2019); class coverage and the entropy of the predicted-class histogram.
"""
import numpy as np
from scipy import linalg
from sklearn.metrics import pairwise_distances
from sklearn.neighbors import NearestNeighbors


def frechet_distance(real, fake, eps=1e-6):
    """||μ_r − μ_f||² + Tr(Σ_r + Σ_f − 2 (Σ_r Σ_f)^½) between Gaussian fits of two feature sets."""
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    mu_r, mu_f = real.mean(0), fake.mean(0)
    cov_r, cov_f = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    # ReLU features can be constant (dead units), making a covariance singular: a tiny ridge
    # keeps the matrix square root well defined and leaves the distance of identical sets at 0.
    cov_r, cov_f = cov_r + eps * np.eye(len(cov_r)), cov_f + eps * np.eye(len(cov_f))
    covmean = np.real(linalg.sqrtm(cov_r @ cov_f))
    return float(((mu_r - mu_f) ** 2).sum() + np.trace(cov_r + cov_f - 2 * covmean))


def knn_radii(points, k=3):
    """Each point's distance to its k-th nearest neighbour (itself excluded): its manifold ball."""
    return NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)[0][:, -1]


def _manifold_coverage(reference, queries, radii):
    """Fraction of `queries` inside the union of the balls of `radii` around `reference` points."""
    distances = pairwise_distances(queries, reference)
    return float((distances <= radii[None, :]).any(1).mean())


def precision_recall(real, fake, k=3, real_radii=None):
    """Precision: share of fakes on the real manifold; recall: share of reals on the fake manifold.
    `real_radii` (knn_radii of `real`) saves recomputing them when many fakes meet one real set."""
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    return _manifold_coverage(real, fake, real_radii), _manifold_coverage(fake, real, knn_radii(fake, k))


def class_statistics(predicted, n_classes=10):
    """Class coverage: the share of classes that receive at least half of a fair share
    (1 / (2·n_classes)) of the samples; and the entropy (nats) of the predicted-class
    histogram, at most log(n_classes)."""
    counts = np.bincount(np.asarray(predicted), minlength=n_classes)
    p = counts / counts.sum()
    coverage = float((p >= 0.5 / n_classes).mean())
    nz = p[p > 0]
    return coverage, float(-(nz * np.log(nz)).sum())


def sample_metrics(real_features, fake_features, fake_predictions, k=3, n_classes=10, real_radii=None):
    """Fréchet distance, precision and recall; class coverage and entropy where the images
    have predicted classes (`fake_predictions`; None: nan)."""
    precision, recall = precision_recall(real_features, fake_features, k, real_radii)
    coverage, entropy = (np.nan, np.nan) if fake_predictions is None else class_statistics(fake_predictions, n_classes)
    return {"frechet": frechet_distance(real_features, fake_features), "precision": precision,
            "recall": recall, "class_coverage": coverage, "class_entropy": entropy}
