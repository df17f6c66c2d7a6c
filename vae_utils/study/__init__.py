"""A notebook run's three stages over one value: measure (models and per-model tables), judge
(verdict rows from those tables alone) and show (figures), with summaries, outputs and the
specifics of single notebooks (beta, data_size, generation)."""
