"""A run's outputs: every table, figure and verdict file a notebook writes goes through one
`Outputs`, built from the run's profile, tag and name, so a notebook never names a folder or
writes a file itself (the folders come from `vae_utils.paths`: the run's staging folder under
`make`, results/profiles/interactive/ from JupyterLab)."""
import matplotlib.pyplot as plt

from . import verdicts
from .paths import output_dir
from .plotting import savefig
from .runspec import run_of

TAGS = {"02_ae_vs_vae_depth": "depth", "03_ae_vs_vae_latent_dim": "latent", "04_beta_vae": "beta",
        "05_generation": "generation", "06_data_size": "data_size"}   # a notebook's prefix of its files


class Outputs:
    """Writes `<tag>-<name>.csv` tables and `<tag>-<name>.png` figures of `notebook`'s run on
    `dataset` in `profile` (tag: the notebook's prefix in TAGS, then the dataset), and the run's
    verdict rows with the figures marked key."""

    def __init__(self, profile, notebook, dataset):
        if notebook not in TAGS:
            raise ValueError(f"notebook={notebook!r} writes no run outputs; allowed: {', '.join(TAGS)}")
        self.profile, self.tag, self.run = profile, f"{TAGS[notebook]}-{dataset}", run_of(notebook, dataset)
        self.key_figures = []

    def table(self, table, name, index=False):
        """Write `table` and return it (to display)."""
        table.to_csv(output_dir(self.profile, "tables") / f"{self.tag}-{name}.csv", index=index)
        return table

    def figure(self, fig, name, key=False):
        """Save `fig` (a key figure of the report when `key`) and show it."""
        savefig(fig, f"{self.tag}-{name}", self.profile)
        if key and f"{self.tag}-{name}" not in self.key_figures:
            self.key_figures.append(f"{self.tag}-{name}")
        plt.show()

    def verdicts(self, rows):
        """The run's verdict rows (results/verdicts/<run>.csv) with its key figures."""
        return verdicts.save(rows, self.run, self.profile, self.key_figures)
