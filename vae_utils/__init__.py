"""vae_utils: the small library behind the AE / VAE / beta-VAE notebooks.

One module per concern: data, models, losses, training, cache, experiments, figures,
plotting, verdicts, classifier, samplers, sample_quality, generation, paths, reproducibility.
"""
