"""What is measured on a trained model: likelihood bounds, latent statistics and clustering,
sample quality, baselines that need no model, and the feature classifier."""
