"""Sample-quality metrics between generated and real images, on classifier features.

Fréchet distance; the kernel distance (KID, its unbiased estimator, fit for small real sets);
precision and recall with k-nearest-neighbour manifolds (Kynkäänniemi
et al., 2019); density and coverage (Naeem et al., 2020), which a few outlying real points
cannot inflate; class coverage and the entropy of the predicted-class histogram. The
manifold metrics compare equal numbers of real and generated images (`RealManifold`).
"""
import numpy as np
from scipy import linalg
from sklearn.metrics import pairwise_distances
from sklearn.metrics.pairwise import polynomial_kernel
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


KID_MAX = 2000          # images of each set the kernel distance uses at most (seeded subsets)


def kernel_distance(real, fake, max_n=KID_MAX, seed=0):
    """The kernel distance (KID): the unbiased estimate of the squared MMD between two feature sets
    with the cubic polynomial kernel (x·y / d + 1)³; about 0 for two samples of one distribution,
    at any sample size (unlike the Fréchet distance, which is biased upwards for small sets)."""
    rng = np.random.default_rng(seed)
    real, fake = (np.asarray(x, np.float64) for x in (real, fake))
    real, fake = (x[np.sort(rng.choice(len(x), max_n, replace=False))] if len(x) > max_n else x for x in (real, fake))
    kernel = lambda a, b: polynomial_kernel(a, b, degree=3, gamma=1.0 / real.shape[1], coef0=1)
    m, n = len(real), len(fake)
    k_rr, k_ff = kernel(real, real), kernel(fake, fake)
    within = (k_rr.sum() - np.trace(k_rr)) / (m * (m - 1)) + (k_ff.sum() - np.trace(k_ff)) / (n * (n - 1))
    return float(within - 2 * kernel(real, fake).mean())


def knn_radii(points, k=3):
    """Each point's distance to its k-th nearest neighbour (itself excluded): its manifold ball."""
    return NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)[0][:, -1]


PR_K, DC_K = 3, 5        # neighbours: precision/recall (Kynkäänniemi et al.), density/coverage (Naeem et al.)


def precision_recall(real, fake, k=PR_K, real_radii=None):
    """Precision: share of fakes on the real manifold; recall: share of reals on the fake manifold.
    `real_radii` (knn_radii of `real`) saves recomputing them when many fakes meet one real set."""
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    distances = pairwise_distances(fake, real)               # (fakes, reals)
    return _precision_recall(distances, real_radii, knn_radii(fake, k))


def _precision_recall(distances, real_radii, fake_radii):
    precision = (distances <= real_radii[None, :]).any(1).mean()
    recall = (distances <= fake_radii[:, None]).any(0).mean()
    return float(precision), float(recall)


def density_coverage(real, fake, k=DC_K, real_radii=None):
    """Density: mean number of real k-NN balls holding a fake, over k (1 when fakes are spread
    like the reals; may exceed 1). Coverage: share of real balls holding at least one fake."""
    real, fake = np.asarray(real, np.float32), np.asarray(fake, np.float32)
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    return _density_coverage(pairwise_distances(fake, real), real_radii, k)


def _density_coverage(distances, real_radii, k):
    inside = distances <= real_radii[None, :]
    return float(inside.sum() / (k * len(distances))), float((distances.min(0) <= real_radii).mean())


class RealManifold:
    """A fixed sample of `n` real feature vectors (all of them when there are fewer) and their
    k-NN radii, computed once for every generated set it meets."""

    def __init__(self, features, n, seed=0):
        features = np.asarray(features, np.float32)
        if n < 1:
            raise ValueError(f"n={n} is not allowed; it must be >= 1")
        n = min(n, len(features))
        pick = np.sort(np.random.default_rng(seed).choice(len(features), size=n, replace=False))
        self.points = features[pick]
        self.radii = {k: knn_radii(self.points, k) for k in (PR_K, DC_K)}

    def scores(self, fake):
        """Precision, recall, density and coverage of the first len(points) of `fake` (i.i.d.
        samples), so that real and generated sets are of equal size."""
        n = len(self.points)
        if len(fake) < n:
            raise ValueError(f"{len(fake)} generated images are fewer than the {n} real ones; "
                             "the manifold metrics need equal numbers")
        fake = np.asarray(fake, np.float32)[:n]
        distances = pairwise_distances(fake, self.points)
        precision, recall = _precision_recall(distances, self.radii[PR_K], knn_radii(fake, PR_K))
        density, coverage = _density_coverage(distances, self.radii[DC_K], DC_K)
        return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def class_statistics(predicted, n_classes=10):
    """Class coverage: the share of classes that receive at least half of a fair share
    (1 / (2·n_classes)) of the samples; and the entropy (nats) of the predicted-class
    histogram, at most log(n_classes)."""
    counts = np.bincount(np.asarray(predicted), minlength=n_classes)
    p = counts / counts.sum()
    coverage = float((p >= 0.5 / n_classes).mean())
    nz = p[p > 0]
    return coverage, float(-(nz * np.log(nz)).sum())


def sample_metrics(real_features, fake_features, fake_predictions, n_classes=10, manifold=None):
    """Fréchet and kernel distances to all `real_features`; precision, recall, density and coverage against
    `manifold` (a RealManifold; by default one of as many real images as fakes); class coverage
    and entropy where the images have predicted classes (`fake_predictions`; None: nan)."""
    manifold = manifold or RealManifold(real_features, len(fake_features))
    coverage, entropy = (np.nan, np.nan) if fake_predictions is None else class_statistics(fake_predictions, n_classes)
    return {"frechet": frechet_distance(real_features, fake_features),
            "kid": kernel_distance(real_features, fake_features), **manifold.scores(fake_features),
            "class_coverage": coverage, "class_entropy": entropy}
