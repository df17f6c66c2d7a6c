"""vae_utils: the small library behind the AE / VAE / beta-VAE notebooks.

One module per concern:
  data (datasets, their registry, splits) · models · losses · training (config, `fit`, evaluation)
  · stacked (many configs of one architecture trained as one model) · store (models on disk)
  · cache (AE/VAE entries in the store) · experiments (grids, train or load) · latents (posterior
  statistics, active units, clustering) · likelihood (the importance-weighted bound) · tables
  · stats · verdicts · figures · plotting · classifier · samplers · sample_quality · generation
  · paths · protocol (a profile's training protocol) · runspec (a run's parameter files, checked)
  · outputs (every file a run writes) · reproducibility.

A notebook run is three stages over one value: measure (`measure.ae_vs_vae`, `measure.beta_grid`:
the models and their per-model tables, a `measure.Measured`), judge (`judge`: verdict rows from
those tables alone) and show (`show`: figures), with `summaries` (tables over repeats) beside
them; beta and data_size hold what only notebooks 4 and 6 ask.
"""
