"""vae_utils: the small library behind the AE / VAE / beta-VAE notebooks.

One module per concern:
  data (datasets, their registry, splits) · models · losses · training (config, `fit`, evaluation)
  · stacked (many configs of one architecture trained as one model) · store (models on disk)
  · cache (AE/VAE entries in the store) · experiments (grids, train or load) · sweep (the AE-vs-VAE
  sweep notebooks 2 and 3 share) · beta (the β-VAE sweep of notebook 4) · latents (posterior
  statistics, active units, clustering) · likelihood (the importance-weighted bound) · tables
  · stats · verdicts · figures · plotting · classifier · samplers · sample_quality · generation
  · paths · protocol (a profile's training protocol)
  · reproducibility.
"""
