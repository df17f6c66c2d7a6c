"""What a trained model's codes look like: posterior statistics, active units, KL per unit,
and how well the codes cluster and separate the classes (scikit-learn throughout).

Codes are the AE's codes, or the VAE's posterior means E_q[z | x].
"""
import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, confusion_matrix, normalized_mutual_info_score, silhouette_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ACTIVE_THRESHOLD = 0.01     # a unit is active when Var_x(E_q[z_j | x]) exceeds this (Burda et al. 2016)
CLUSTER_METRICS = ("nmi", "ari", "kmeans_accuracy", "probe_accuracy", "knn_accuracy", "silhouette")
VIEWS = ("raw", "active_standardised")


@torch.no_grad()
def posterior(model, x, batch_size=5000):
    """Codes (posterior means) and posterior standard deviations of `x`, as numpy arrays; an AE's
    standard deviations are zeros (its encoder is deterministic)."""
    means, stds = [], []
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        if hasattr(model, "posterior"):
            mu, logvar = model.posterior(xb)
            means.append(mu), stds.append(torch.exp(0.5 * logvar))
        else:
            z = model.encode(xb)
            means.append(z), stds.append(torch.zeros_like(z))
    return torch.cat(means).numpy(), torch.cat(stds).numpy()


def active_units(means, threshold=ACTIVE_THRESHOLD):
    """Boolean mask of the units whose posterior mean varies over the images by more than `threshold`."""
    return np.var(means, axis=0) > threshold


def kl_per_unit(means, stds, prior_mean=0.0, prior_std=1.0):
    """Mean KL(q(z_j | x) || p(z_j)) over the images, per unit j (nats)."""
    means, stds = np.asarray(means, np.float64), np.asarray(stds, np.float64)
    var, prior_var = np.maximum(stds ** 2, 1e-300), np.asarray(prior_std, np.float64) ** 2
    kl = 0.5 * ((var + (means - prior_mean) ** 2) / prior_var - 1 - np.log(var / prior_var))
    return kl.mean(0)


def code_statistics(means, stds):
    """Active units, the scale of the codes (root mean square of the posterior means) and the
    mean posterior standard deviation (0 for an AE)."""
    return {"active_units": int(active_units(means).sum()), "code_rms": float(np.sqrt(np.mean(means ** 2))),
            "posterior_std": float(stds.mean())}


def views(train_codes, test_codes):
    """The codes two ways: raw, and only the active units (found on the training codes) each
    standardised with the training codes' mean and std. None for a view with no unit."""
    active = active_units(train_codes)
    if not active.any():
        return {"raw": (train_codes, test_codes), "active_standardised": None}
    scaler = StandardScaler().fit(train_codes[:, active])
    return {"raw": (train_codes, test_codes),
            "active_standardised": (scaler.transform(train_codes[:, active]), scaler.transform(test_codes[:, active]))}


def matched_accuracy(labels, clusters):
    """Accuracy of cluster ids after the best one-to-one matching to labels (Hungarian algorithm)."""
    table = confusion_matrix(labels, clusters)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(labels))


def clustering_scores(train_codes, train_y, test_codes, test_y, n_clusters=10, seed=0, n_silhouette=2000):
    """k-means (fitted on training codes) on the test codes against the labels: NMI, ARI and
    Hungarian-matched accuracy; a linear probe (logistic regression on standardised training
    codes) and 5-NN accuracy on the test labels; silhouette of the labels on a fixed subsample."""
    train_y, test_y = np.asarray(train_y), np.asarray(test_y)
    clusters = KMeans(n_clusters, n_init=10, random_state=seed).fit(train_codes).predict(test_codes)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(train_codes, train_y)
    knn = KNeighborsClassifier(n_neighbors=5).fit(train_codes, train_y)
    return {"nmi": normalized_mutual_info_score(test_y, clusters),
            "ari": adjusted_rand_score(test_y, clusters),
            "kmeans_accuracy": matched_accuracy(test_y, clusters),
            "probe_accuracy": probe.score(test_codes, test_y),
            "knn_accuracy": knn.score(test_codes, test_y),
            "silhouette": float(silhouette_score(test_codes, test_y, sample_size=min(n_silhouette, len(test_y)),
                                                 random_state=seed))}


def code_scores(model, train_x, train_y, test_x, test_y, seed=0, only=VIEWS):
    """`clustering_scores` of a model's codes (posterior means) in each view of `only` ({} for a
    view without an active unit), the views built from the codes of `train_x`."""
    train_codes, test_codes = posterior(model, train_x)[0], posterior(model, test_x)[0]
    return {view: ({} if codes is None else
                   clustering_scores(codes[0], np.asarray(train_y), codes[1], np.asarray(test_y), seed=seed))
            for view, codes in views(train_codes, test_codes).items() if view in only}
