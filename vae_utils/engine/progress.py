"""What a run is doing while it trains: on the console of `make all`, and as a progress bar in JupyterLab.

Under `scripts/run_notebook.py` the kernel appends lines to the file named by $VAE_PROGRESS_FILE,
which the script prints on the console as they come (the executed notebook holds none of them:
its progress bars are off, TQDM_DISABLE=1). $VAE_PROGRESS_EVERY sets the seconds between epoch
lines: a few on a terminal; 0 (as in CI) gives only a line per stack and phase. In JupyterLab,
with neither set, the bar over stacks carries the same words: stack, epoch, best validation
objective and the estimated time left.
"""
import os
import statistics
import time

from tqdm.auto import tqdm

FILE_ENV = "VAE_PROGRESS_FILE"
EVERY_ENV = "VAE_PROGRESS_EVERY"


def note(text):
    """One line on the console of the run (nothing outside `make`): a stage, e.g. what is trained."""
    path = os.environ.get(FILE_ENV)
    if path:
        with open(path, "a") as fh:
            fh.write(text + "\n")


def duration(seconds):
    """`seconds` in words a person reads at a glance: 45 s, 12 min, 3.4 h."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class TrainingProgress:
    """Progress over the stacks of one `experiments.run_all` call: `stack` starts one, `epoch` follows
    its epochs (phase 'train' or 'anneal'), `stack_done` ends it; `close` when all are done."""

    def __init__(self, groups, clock=time.perf_counter):
        self.groups, self.clock = groups, clock
        self.every = float(os.environ.get(EVERY_ENV) or 0)
        self.bar = tqdm(total=len(groups), desc="stacks", unit="stack")   # silenced by TQDM_DISABLE=1 (make, CI)
        self.finished = []          # (members, seconds, epochs) of each finished stack
        self.index, self.last_line, self.phase, self.running = -1, -float("inf"), None, False

    def stack(self, index, configs):
        max_epochs = configs[0].max_epochs                  # a stack's configs share it (stacked.STACKABLE_FIELDS)
        self.index, self.configs, self.max_epochs = index, configs, max_epochs
        self.started, self.epochs, self.phase, self.best, self.running = self.clock(), 0, None, None, True
        members = f"{len(configs)} × " if len(configs) > 1 else ""
        self.label = f"stack {index + 1}/{len(self.groups)} ({members}{configs[0].label().rsplit(' repeat=', 1)[0]})"
        note(f"{self.label}: training, at most {max_epochs} epochs{' per phase' if configs[0].anneal else ''}")

    def epoch(self, phase, epoch, best):
        """Epoch `epoch` of `phase` ended; `best` is the lowest validation objective so far (nats per image)."""
        if phase != self.phase and self.phase is not None:
            note(f"{self.label}: {self.phase} phase ended after {self.epochs} epochs, best validation "
                 f"objective {self.best:.2f}; {self.eta()}")
        self.phase, self.best = phase, best
        self.epochs += 1
        text = f"{phase} epoch {epoch}, best validation objective {best:.2f}, {self.eta()}"
        self.bar.set_postfix_str(f"{self.label}: {text}", refresh=True)
        if self.every and self.clock() - self.last_line >= self.every:
            self.last_line = self.clock()
            note(f"{self.label}: {text}")

    def stack_done(self):
        seconds, self.running = self.clock() - self.started, False
        self.finished.append((len(self.configs), seconds, self.epochs))
        note(f"{self.label}: done in {duration(seconds)} ({self.epochs} epochs"
             f"{f', best validation objective {self.best:.2f}' if self.best is not None else ''}); {self.eta()}")
        self.bar.update(1)

    def eta(self):
        """Words for the time left over every stack: measured per member on the finished stacks
        ("about"), else from the current stack's pace and its epoch caps ("at most")."""
        left = [len(g) for g in self.groups[self.index + 1:]]
        pace = self.epochs and (self.clock() - self.started) / self.epochs
        if self.finished:
            per_member = sum(s for _, s, _ in self.finished) / sum(m for m, _, _ in self.finished)
            typical = statistics.mean(e for _, _, e in self.finished)
            current = pace * max(typical - self.epochs, 0) if self.running else 0.0
            return f"about {duration(current + per_member * sum(left))} left"
        if not pace:
            return "time left: estimated after the first epoch"
        phases = 2 if self.configs[0].anneal else 1
        cap = pace * (phases * self.max_epochs - self.epochs) + pace * phases * self.max_epochs * sum(left) / len(
            self.configs)
        return f"at most {duration(cap)} left (epoch caps; most models stop far earlier)"

    def close(self):
        self.bar.close()
