"""vae_utils: the library behind the AE / VAE / β-VAE notebooks, in rooms by concern. Imports
only go down this list:

  report     the answers in words and the generated findings (answers, findings)
  study      the three stages of a notebook run: measure, judge, show, with summaries, figures,
             outputs and what only one notebook asks (beta, data_size, generation)
  inference  paired intervals and tests (stats), verdict rows (verdicts), multiplicity families
  metrics    likelihood bounds, latent statistics, sample quality, baselines, the feature classifier
  engine     training (single and stacked), the model store and cache, convergence checks, progress
  core       datasets and their files, models, losses, samplers
  config     paths, the dataset registry, value rules, protocols and run files (torch-free)
"""
