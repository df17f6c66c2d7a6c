"""Progress while a run trains: lines on the console of `make`, none in the executed notebook."""
import nbformat
from test_pipeline import make_notebook

from vae_utils.engine import progress
from vae_utils.engine.training import TrainConfig


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def configs(n, **kw):
    return [TrainConfig(dataset="mnist", model="vae", n_layers=2, d_z=2, repeat=r, max_epochs=10, anneal=0.1, **kw)
            for r in range(n)]


def test_lines_per_stack_and_phase_and_an_estimate_that_learns_from_finished_stacks(tmp_path, monkeypatch):
    log = tmp_path / "progress.log"
    monkeypatch.setenv(progress.FILE_ENV, str(log))
    monkeypatch.setenv(progress.EVERY_ENV, "0")                  # as in CI: no epoch lines
    clock = Clock()
    groups = [configs(2), configs(2), configs(1)]
    bar = progress.TrainingProgress(groups, clock=clock)
    bar.stack(0, groups[0])
    assert bar.eta() == "time left: estimated after the first epoch"
    for epoch in range(1, 5):
        clock.now += 2.0
        bar.epoch("train", epoch, 100.0 - epoch)
    # 2 s an epoch for 2 members, at most 2 phases × 10 epochs: 32 s left here, 20 s per member to come
    assert bar.eta() == "at most 2 min left (epoch caps; most models stop far earlier)"   # 92 s
    clock.now += 2.0
    bar.epoch("anneal", 5, 95.5)
    bar.stack_done()                                            # 10 s for 2 members over 5 epochs
    assert bar.eta() == "about 15 s left"                       # 3 members to go at 5 s each
    bar.stack(1, groups[1])
    clock.now += 2.0
    bar.epoch("train", 1, 120.0)
    assert bar.eta() == "about 13 s left"                       # 4 more epochs at 2 s, then one member
    bar.close()
    lines = log.read_text().splitlines()
    assert lines == [
        "stack 1/3 (2 × VAE mnist L=2 d_z=2 beta=1): training, at most 10 epochs per phase",
        "stack 1/3 (2 × VAE mnist L=2 d_z=2 beta=1): train phase ended after 4 epochs, best validation "
        "objective 96.00; at most 2 min left (epoch caps; most models stop far earlier)",
        "stack 1/3 (2 × VAE mnist L=2 d_z=2 beta=1): done in 10 s (5 epochs, best validation objective 95.50); "
        "about 15 s left",
        "stack 2/3 (2 × VAE mnist L=2 d_z=2 beta=1): training, at most 10 epochs per phase"]


def test_on_a_terminal_epoch_lines_come_every_few_seconds(tmp_path, monkeypatch):
    log = tmp_path / "progress.log"
    monkeypatch.setenv(progress.FILE_ENV, str(log))
    monkeypatch.setenv(progress.EVERY_ENV, "5")
    clock = Clock()
    bar = progress.TrainingProgress([configs(1)], clock=clock)
    bar.stack(0, configs(1))
    for epoch in range(1, 11):
        clock.now += 2.0
        bar.epoch("train", epoch, 50.0)
    epoch_lines = [line for line in log.read_text().splitlines() if "train epoch" in line]
    assert [line.split("train epoch ")[1].split(",")[0] for line in epoch_lines] == ["1", "4", "7", "10"]


def test_a_run_prints_its_progress_on_the_console_and_the_executed_notebook_holds_none(project, capfd,
                                                                                      load_script):
    run_notebook = load_script("run_notebook")
    make_notebook(project / "notebooks" / "09_x.ipynb",
                  "from vae_utils.engine import progress\nprogress.note(f'stage {x}: training')\nprint('done')")
    (project / "params" / "quick" / "09_x--mnist.yaml").write_text("x: 2\n")
    run_notebook.execute("quick", "09_x--mnist")
    assert "09_x--mnist: stage 2: training" in capfd.readouterr().out.splitlines()
    executed = nbformat.read(project / "results" / "profiles" / "quick" / "notebooks" / "09_x--mnist.ipynb", 4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert "done" in "".join(o.get("text", "") for o in outputs)
    assert "training" not in str(outputs)
