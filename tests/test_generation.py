import numpy as np
import pandas as pd
import pytest
import torch

from vae_utils.config.claims import SAMPLERS_FOR
from vae_utils.core import samplers
from vae_utils.core.models import AE, VAE
from vae_utils.metrics.classifier import SmallCNN, embed_and_predict
from vae_utils.metrics.sample_quality import (
    RealManifold,
    class_statistics,
    density_coverage,
    frechet_distance,
    knn_radii,
    precision_recall,
)
from vae_utils.study import generation, judge


def test_a_set_against_itself_is_perfect():
    x = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)
    assert precision_recall(x, x, k=3) == (1.0, 1.0)
    density, coverage = density_coverage(x, x)
    assert coverage == 1.0 and 0.8 < density < 1.2


def test_disjoint_distant_sets_score_zero():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(300, 4)), rng.normal(size=(300, 4)) + 100.0
    assert precision_recall(a, b, k=3) == (0.0, 0.0)
    assert density_coverage(a, b) == (0.0, 0.0)
    # Fréchet distance of two unit Gaussians 100 apart in 4 dims: ≈ 4 · 100²
    assert frechet_distance(a, b) == pytest.approx(4 * 100 ** 2, rel=0.01)


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20000, 2))
    b = rng.normal(size=(20000, 2)) * 2.0 + np.array([3.0, 0.0])
    # |Δμ|² + tr(I + 4I − 2·2I) = 9 + 2
    assert frechet_distance(a, b) == pytest.approx(11.0, rel=0.03)


def test_precision_recall_see_mode_dropping():
    rng = np.random.default_rng(2)
    real = np.concatenate([rng.normal(size=(400, 2)), rng.normal(size=(400, 2)) + 20])
    fake = rng.normal(size=(800, 2))          # covers one of the two modes only
    precision, recall = precision_recall(real, fake)
    assert precision > 0.9 and 0.4 < recall < 0.6
    assert 0.4 < density_coverage(real, fake)[1] < 0.6


def test_density_is_not_fooled_by_a_real_outlier_as_precision_is():
    # one real outlier far from the rest has a huge k-NN ball: fakes inside it count as precise,
    # but each sits in one real ball of k, so density stays near 1/k
    rng = np.random.default_rng(3)
    real = np.concatenate([rng.normal(size=(999, 2)), [[50.0, 0.0]]])
    fake = rng.normal(size=(1000, 2)) * 0.5 + [25.0, 0.0]
    precision, _ = precision_recall(real, fake)
    density, coverage = density_coverage(real, fake)
    assert precision == 1.0 and density <= 0.25 and coverage <= 0.01


def test_class_statistics():
    coverage, entropy = class_statistics(np.arange(1000) % 10)
    assert coverage == 1.0 and entropy == pytest.approx(np.log(10))
    coverage, entropy = class_statistics(np.zeros(100, dtype=int))
    assert coverage == 0.1 and entropy == 0.0


class IdentityEncoder(AE):
    """An 'AE' whose codes are its inputs, to test samplers on known distributions."""
    def __init__(self, d):
        super().__init__(d + 1, d, 1)
    def encode(self, x):
        return x


@pytest.mark.parametrize("kind", ["gaussian", "mixture"])
def test_fitted_sampler_recovers_a_known_gaussian(kind):
    rng = np.random.default_rng(0)
    mean, cov = np.array([2.0, -1.0, 0.5]), np.array([[1.0, 0.6, 0.0], [0.6, 2.0, 0.3], [0.0, 0.3, 0.5]])
    x = torch.as_tensor(rng.multivariate_normal(mean, cov, 20000), dtype=torch.float32)
    codes = samplers.sample_codes(IdentityEncoder(3), kind, 20000, seed=0, train_x=x).numpy()
    assert np.allclose(codes.mean(0), mean, atol=0.05)
    assert np.allclose(np.cov(codes, rowvar=False), cov, atol=0.08)
    if kind == "gaussian":
        density = samplers.fit_code_density(x, "gaussian")
        assert np.allclose(density.means_[0], mean, atol=0.05)
        assert np.allclose(density.covariances_[0], cov, atol=0.08)


def test_prior_sampler_uses_the_models_own_prior_and_rejects_an_ae():
    vae = VAE(784, 2, 2, prior_mean=[5.0, 10.0], prior_std=[1.0, 1.0])
    codes = samplers.sample_codes(vae, "prior", 5000, seed=0)
    assert np.allclose(codes.mean(0).numpy(), [5.0, 10.0], atol=0.1)
    with pytest.raises(ValueError, match="AE has no prior"):
        samplers.sample_codes(AE(784, 2, 2), "prior", 10)
    with pytest.raises(ValueError, match="sampler='uniform'"):
        samplers.sample_codes(vae, "uniform", 10)
    with pytest.raises(ValueError, match="train_x"):
        samplers.sample_codes(vae, "mixture", 10)


def test_decoded_samples_are_probabilities_not_thresholded():
    images = samplers.decode(VAE(784, 2, 2), torch.randn(16, 2))
    assert images.shape == (16, 784) and 0 < images.min() and images.max() < 1
    assert len(torch.unique(images)) > 2


def test_classifier_features_and_predictions_have_the_right_shapes():
    feats, preds = embed_and_predict(SmallCNN(), torch.rand(5, 784))
    assert feats.shape == (5, 128) and preds.shape == (5,) and preds.max() < 10


def test_latent_scatter_of_unlabelled_data_warns_nothing():
    # Frey Face has no labels: colouring by class used to warn "No data for colormapping"
    import warnings

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vae_utils.core.models import AE
    from vae_utils.study import figures
    model = AE(560, 2, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = figures.latent_scatter({"AE": model}, torch.rand(50, 560), None)
    plt.close(fig)


def test_the_real_manifold_scores_as_the_functions_do_on_equal_sizes():
    g = np.random.default_rng(0)
    real, fake = g.normal(size=(500, 8)).astype(np.float32), g.normal(0.5, size=(200, 8)).astype(np.float32)
    manifold = RealManifold(real, 200, seed=1)
    assert len(manifold.points) == 200 and len({tuple(p) for p in manifold.points}) == 200
    scores = manifold.scores(fake)
    assert (scores["precision"], scores["recall"]) == precision_recall(manifold.points, fake)
    radii = knn_radii(manifold.points, 3)
    assert (scores["precision"], scores["recall"]) == precision_recall(manifold.points, fake, real_radii=radii)
    assert (scores["density"], scores["coverage"]) == density_coverage(manifold.points, fake)
    assert manifold.scores(np.concatenate([fake, fake + 100])) == scores      # the first 200 only
    with pytest.raises(ValueError, match="equal numbers"):
        manifold.scores(fake[:100])
    assert len(RealManifold(real, 600).points) == 500                          # all there are
    with pytest.raises(ValueError, match="n=0"):
        RealManifold(real, 0)


def decided(rows):
    """Rows decided in their families, as a run decides them (no other run in the profile)."""
    from vae_utils.inference import families
    return families.adjust(rows, {}, 0.05)


def synthetic_scores(gain=50.0, seed=0):
    """FD of every (model, sampler) at d_z 2 and 10 over 5 repeats: the VAE's own prior beats the AE's
    N(0, I) by `gain`, every other pair is equal up to noise; the AE's N(0, I) covers no real image at d_z 2."""
    rng = np.random.default_rng(seed)
    rows = []
    for d_z in (2, 10):
        for model, kinds in SAMPLERS_FOR.items():
            for sampler in kinds:
                for repeat in range(5):
                    naive = model == "ae" and sampler == "standard_normal"
                    rows.append({"model": model, "d_z": d_z, "beta": 1.0, "repeat": repeat, "sampler": sampler,
                                 "frechet": 100 + (gain if naive else 0) + rng.normal(0, 1),
                                 "recall": 0.001 if naive and d_z == 2 else 0.5,
                                 **{m: 0.5 for m in ("precision", "density", "coverage", "class_coverage",
                                                     "class_entropy")}})
    return pd.DataFrame(rows)


def test_vae_versus_ae_verdicts_find_the_prior_advantage_and_mark_saturated_settings():
    rows = decided(judge.vae_versus_ae_verdicts(synthetic_scores(), "05", "mnist", min_effect=5.0, alpha=0.05))
    assert len(rows) == 5 * 2 and set(rows["claim"].str.contains("generates better than AE")) == {True}
    naive = rows[rows["claim"] == "VAE (own prior) generates better than AE (N(0, I) (naive))"]
    assert list(naive["holds"]) == ["yes", "yes"] and (naive["value"] > 45).all()   # one side failing still tells
    like = rows[rows["claim"].str.contains("fitted mixture \\(10\\)\\) generates better than AE \\(fitted mixture")]
    assert len(like) == 2 and set(like["holds"]) == {"equivalent"}
    reversed_rows = decided(judge.vae_versus_ae_verdicts(synthetic_scores(gain=-50.0), "05", "mnist", 5.0, 0.05))
    assert set(reversed_rows.loc[reversed_rows["claim"].str.contains("naive"), "holds"]) == {"no"}


def test_samplers_that_score_as_well_as_real_images_are_saturated_and_not_counted():
    scores = synthetic_scores()
    fine = judge.vae_versus_ae_verdicts(scores, "05", "mnist", 5.0, 0.05, reference={"frechet": 50.0})
    assert "saturated" not in set(fine["holds"])                      # every sampler far worse than real images
    both_fail = scores.assign(recall=np.where(scores["d_z"] == 2, 0.001, 0.5))
    failed = decided(judge.vae_versus_ae_verdicts(both_fail, "05", "mnist", 5.0, 0.05))
    assert set(failed.loc[failed["d_z"] == 2, "holds"]) == {"saturated"}   # two failures compared: not counted
    assert np.isnan(failed.loc[failed["d_z"] == 2, "family_low"]).all()
    assert "saturated" not in set(failed.loc[failed["d_z"] == 10, "holds"])
    real_worse = judge.vae_versus_ae_verdicts(scores, "05", "mnist", 5.0, 0.05, reference={"frechet": 100.5})
    assert set(real_worse["holds"]) == {"saturated"}                   # every pair has a side at ~100 ≤ 100.5


def test_a_side_whose_interval_reaches_the_real_images_is_saturated():
    """Frey Face's β = 4 had a mean above the real frames' score and an interval reaching below it:
    the mean rule counted it; the interval rule does not (issue 40)."""
    near = pd.DataFrame({"arm": ["β=1"] * 5 + ["β=4"] * 5, "recall": 0.5,
                         "frechet": [30.0, 31.0, 29.0, 30.5, 29.5, 10.0, 10.5, 9.5, 11.0, 9.0]})
    assert judge.saturated(near, ["arm"], {"frechet": 9.5})          # β = 4: mean 10, interval [9.0, 11.0]
    assert not judge.saturated(near, ["arm"], {"frechet": 8.5})      # the interval stays above it
    assert not judge.saturated(near, ["arm"])                        # no reference: nothing to reach


def test_the_quality_table_puts_the_real_images_first_and_flags_saturation():
    ceiling = {m: 1.0 for m in generation.METRICS}
    summary, shown, too_far = generation.quality_table(synthetic_scores(), ceiling)
    assert too_far == {2} and len(summary) == 2 * 6
    assert shown.iloc[0]["model"] == "real" and not shown.iloc[0]["saturated"]
    assert set(shown.iloc[1:].groupby("d_z")["saturated"].first().items()) == {(2, True), (10, False)}


def test_outputs_write_tables_figures_and_the_key_figures_of_a_run(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from vae_utils.config import paths
    from vae_utils.inference import verdicts
    from vae_utils.study import outputs
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    monkeypatch.delenv(paths.STAGE_ENV, raising=False)
    out = outputs.Outputs("quick", "05_generation", "mnist")
    shown = out.table(pd.DataFrame({"a": [1, 2]}), "scores")
    assert list(shown["a"]) == [1, 2]
    folder = tmp_path / "results" / "profiles" / "quick"
    assert (folder / "tables" / "generation-mnist-scores.csv").read_text() == "a\n1\n2\n"
    def draw(*figures):
        for name, key in figures:
            fig = plt.figure()
            out.figure(fig, name, key=key)
            plt.close(fig)
    draw(("samples", True), ("manifold", False), ("samples", True))    # a cell run twice
    assert (folder / "figures" / "generation-mnist-manifold.png").exists()
    out.verdicts(pd.DataFrame(columns=verdicts.COLUMNS))
    listed = folder / "verdicts" / "05_generation--mnist.figures"
    assert listed.read_text() == "generation-mnist-samples\n"
    draw(("metrics", True), ("learning_curves", False))      # answer first: figures drawn after the verdicts
    assert listed.read_text() == "generation-mnist-samples\ngeneration-mnist-metrics\n"


def test_the_shifted_prior_gap_is_read_from_its_interval_and_the_margin():
    def reading(low, high):
        return generation.shifted_prior_reading({"gap": (low + high) / 2, "ci_low": low, "ci_high": high}, 1.0)
    assert "includes 0: inconclusive" in reading(-0.5, 2.0)
    assert "lies beyond ±1 nats" in reading(2.7, 5.8)
    assert "reaches inside ±1 nats" in reading(0.2, 3.0)
    with pytest.raises(ValueError, match=r"grid_d_z=5 is not allowed; it must be one of d_z_list=\[2, 10\]"):
        generation.check_grid(5, [2, 10])
    generation.check_grid(10, [2, 10])


def test_the_kernel_distance_is_unbiased_for_few_real_images_where_the_frechet_distance_is_not():
    from vae_utils.metrics.sample_quality import frechet_distance, kernel_distance
    rng = np.random.default_rng(0)
    real, same = rng.normal(size=(200, 20)), rng.normal(size=(1000, 20))      # one distribution, 200 "test frames"
    assert abs(kernel_distance(real, same)) < 0.02 and frechet_distance(real, same) > 0.5   # FD: small-sample bias
    shifted = rng.normal(0.5, 1.0, size=(1000, 20))
    assert kernel_distance(real, shifted) > 0.1
