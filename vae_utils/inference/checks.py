"""Checks on measured tables that need no model: whether linear AEs reached PCA (their optimum)."""
import pandas as pd

PCA_TOLERANCE = 0.02    # converged linear AEs: their test MSE is at most 2% above PCA's, in every repeat


def pca_summary(check):
    """Per d_z (and training-set size, where the check has one): the linear AEs' mean test MSE over
    PCA's (mean over repeats), its worst repeat, and whether every repeat is within PCA_TOLERANCE
    (a repeat above it is not at its optimum)."""
    by = [k for k in ("d_z", "train_images") if k in check]
    if check.empty:
        return pd.DataFrame(columns=by + ["ae_test_mse", "pca_test_mse", "worst_ratio", "ratio", "within_tolerance"])
    per = check.groupby(by).agg(ae_test_mse=("ae_test_mse", "mean"), pca_test_mse=("pca_test_mse", "mean"),
                                   worst_ratio=("ratio", "max")).reset_index()
    per["ratio"] = per["ae_test_mse"] / per["pca_test_mse"]
    per["within_tolerance"] = per["worst_ratio"] <= 1 + PCA_TOLERANCE
    return per
