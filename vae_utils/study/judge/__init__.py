"""The judge stage: a run's verdict rows from its measured tables alone, torch-free.

Every function takes the per-model tables a run writes to <results>/tables (DataFrames, in memory or
read back from the CSV files) and the run's settings, and returns verdict rows (`verdicts.COLUMNS`).
Which settings are optimisation-limited or below a baseline is read from those tables' columns, never
from what a notebook happened to compute before, so `rejudge` turns a run's committed tables back
into its committed verdicts. One module per notebook's claims (reconstruction: notebooks 2 and 3;
beta: 4; generation: 5; data_size: 6), the rules they share in `rules`, the run level in `runs`.
"""
from .beta import BETA_SETTINGS, ae_likeness, beta_generation, beta_verdicts, clustering, paired_arms, with_codes
from .data_size import size_changes, size_claims, size_generation
from .generation import SATURATED_RECALL, low_recall, saturated, vae_versus_ae_verdicts
from .reconstruction import reconstruction, trend_rows
from .rules import (
                    below_baseline,
                    convergence_by_setting,
                    leave_one_out,
                    limited_arms,
                    limited_settings,
                    marked,
                    repeats_of,
)
from .runs import (
                    beta_run_verdicts,
                    decided,
                    equal_rows,
                    generation_verdicts,
                    judged_again,
                    limited,
                    rejudge,
                    sweep_verdicts,
)

__all__ = ["BETA_SETTINGS", "SATURATED_RECALL", "ae_likeness", "below_baseline", "beta_generation", "beta_run_verdicts",
           "beta_verdicts", "clustering", "convergence_by_setting", "decided", "equal_rows", "generation_verdicts",
           "judged_again", "leave_one_out", "limited", "limited_arms", "limited_settings", "low_recall", "marked",
           "paired_arms", "reconstruction", "rejudge", "repeats_of", "saturated", "size_changes", "size_claims",
           "size_generation",
           "sweep_verdicts", "trend_rows", "vae_versus_ae_verdicts", "with_codes"]
