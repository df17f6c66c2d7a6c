"""Training: one model or a stack of repeats, early stopping and annealing, the model store and
cache, experiments over grids, the convergence checks, progress lines, run metadata."""
