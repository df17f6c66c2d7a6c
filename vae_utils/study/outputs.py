"""A run's outputs: every table, figure and verdict file a notebook writes goes through one
`Outputs`, built from the run's profile, tag and name, so a notebook never names a folder or
writes a file itself (the folders come from `vae_utils.config.paths`: the run's staging folder under
`make`, results/profiles/interactive/ from JupyterLab)."""
import matplotlib.pyplot as plt

from ..config.paths import output_dir
from ..config.runspec import run_of, tag_of
from ..inference import verdicts
from .plotting import savefig


class Outputs:
    """Writes `<tag>-<name>.csv` tables and `<tag>-<name>.png` figures of `notebook`'s run on
    `dataset` in `profile` (tag: `runspec.tag_of`), and the run's
    verdict rows with the figures marked key."""

    def __init__(self, profile, notebook, dataset):
        self.profile, self.tag, self.run = profile, tag_of(notebook, dataset), run_of(notebook, dataset)
        self.key_figures, self.saved = [], False     # saved: the verdicts written (`verdicts`)

    def table(self, table, name, index=False):
        """Write `table` and return it (to display)."""
        table.to_csv(output_dir(self.profile, "tables") / f"{self.tag}-{name}.csv", index=index)
        return table

    def figure(self, fig, name, key=False):
        """Save `fig` (a key figure of the report when `key`) and show it. A key figure drawn after
        the verdicts were written (the answer-first notebooks) is added to the run's list."""
        savefig(fig, f"{self.tag}-{name}", self.profile)
        if key and f"{self.tag}-{name}" not in self.key_figures:
            self.key_figures.append(f"{self.tag}-{name}")
            if self.saved:
                verdicts.save_key_figures(self.key_figures, self.run, self.profile)
        plt.show()

    def verdicts(self, rows):
        """The run's verdict rows (results/verdicts/<run>.csv) with its key figures so far."""
        self.saved = True
        return verdicts.save(rows, self.run, self.profile, self.key_figures)
