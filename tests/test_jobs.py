"""Training jobs through submitit (`vae_utils.engine.jobs`): the setting is checked, a job trains
exactly what the serial path trains, a failed job is named with its log, and the Slurm array gets
the options it was given."""
import hashlib
import time

import pytest

from vae_utils.engine import cache, experiments, jobs
from vae_utils.engine.training import TrainConfig

TINY = dict(dataset="mnist", n_layers=2, d_z=2, max_epochs=2, patience=2, n_train=600)


@pytest.mark.parametrize("text, found", [(None, jobs.Executor("serial")), ("local:2", jobs.Executor("local", 2)),
                                         ("slurm", jobs.Executor("slurm")), ("debug", jobs.Executor("debug"))])
def test_the_executor_setting_is_read(text, found):
    assert jobs.parse(text) == found


@pytest.mark.parametrize("text", ["local", "local:0", "local:two", "sge", "serial:2"])
def test_a_bad_executor_setting_is_refused_naming_what_is_allowed(text):
    with pytest.raises(ValueError, match=r"VAE_EXECUTOR=.*not allowed; allowed: serial, local:N, slurm, debug"):
        jobs.parse(text)


def test_a_bad_slurm_option_is_refused_naming_the_variable():
    assert jobs.slurm_parameters({})["timeout_min"] == 240 and "slurm_partition" not in jobs.slurm_parameters({})
    with pytest.raises(ValueError, match="VAE_SLURM_GPUS='two' is not allowed; it must be an integer >= 0"):
        jobs.slurm_parameters({"VAE_SLURM_GPUS": "two"})


def _weights(config):
    entry = cache.entry_dir(config)
    return hashlib.sha256((entry / "model.pt").read_bytes()).hexdigest()


@pytest.fixture
def two_caches(tmp_path, monkeypatch):
    """Point the cache at a fresh folder named `which` (a function)."""
    def use(which):
        monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / which))
    return use


def test_a_local_job_trains_what_the_serial_path_trains(two_caches, monkeypatch):
    configs = [TrainConfig(model="vae", repeat=r, **TINY) for r in range(2)]
    two_caches("serial")
    monkeypatch.setenv(jobs.EXECUTOR_ENV, "serial")
    experiments.run_all(configs)
    serial = [_weights(c) for c in configs]
    two_caches("local")
    monkeypatch.setenv(jobs.EXECUTOR_ENV, "local:2")
    results = experiments.run_all(configs)                     # one stack: one job
    assert [_weights(c) for c in configs] == serial             # byte-identical weights
    assert all(results[c].history for c in configs)
    assert sorted(p.name for p in (jobs.log_folder()).iterdir() if p.name != "%j")      # the job left its log


def test_a_failed_job_is_named_with_its_error_and_log(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "cache"))
    lines = []
    failing = jobs.Task("a job that raises", int, ("not a number",))      # int('not a number') in the job
    failures = jobs.run_jobs([failing], jobs.Executor("local", 1), report=lines.append)
    assert len(failures) == 1 and failures == lines[-1:]               # on the console too
    message = failures[0]
    assert "(a job that raises) failed: ValueError: invalid literal for int()" in message
    log = message.rsplit("its log: ", 1)[1]
    assert log.endswith(".err") and "invalid literal" in open(log).read()   # the log holds the traceback


def test_a_local_job_runs_under_the_time_limit_of_its_setting(tmp_path, monkeypatch):
    """submitit's local executor kills a job after 2 minutes unless told otherwise, which failed
    CI's quick training jobs; the limit is $VAE_LOCAL_TIME_MIN (default a week) and is applied."""
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv(jobs.LOCAL_TIME_ENV, raising=False)
    assert jobs._make(jobs.Executor("local", 2)).parameters["timeout_min"] == jobs.LOCAL_TIME_MIN == 7 * 24 * 60
    monkeypatch.setenv(jobs.LOCAL_TIME_ENV, "0.05")                   # 3 s: a 10 s job is stopped
    failures = jobs.run_jobs([jobs.Task("a job past its limit", time.sleep, (10,))], jobs.Executor("local", 1),
                             report=lambda line: None)
    assert len(failures) == 1 and "(a job past its limit) failed" in failures[0]
    for bad in ("0", "-5", "a day"):
        monkeypatch.setenv(jobs.LOCAL_TIME_ENV, bad)
        with pytest.raises(ValueError, match=f"VAE_LOCAL_TIME_MIN='{bad}' is not allowed.*minutes > 0"):
            jobs._make(jobs.Executor("local", 1))


def test_a_run_whose_training_job_fails_stops_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(jobs.EXECUTOR_ENV, "local:1")
    diverging = TrainConfig(model="vae", **{**TINY, "lr": 1e9})       # its loss stops being finite in the job
    with pytest.raises(RuntimeError, match=r"\(1 × VAE mnist.*failed: FloatingPointError: non-finite training "
                                           r"loss.*its log: .*\.err"):
        experiments.run_all([diverging])
    assert not cache.entry_dir(diverging).exists()                    # nothing a later run would trust


def test_the_slurm_array_gets_the_options_it_was_given(tmp_path, monkeypatch):
    """No cluster here: submitit's own Slurm executor, its check for `srun` bypassed, writes the
    sbatch file of a 20-job array from the $VAE_SLURM_* options."""
    import submitit
    from submitit.slurm import slurm
    monkeypatch.setattr(slurm.SlurmExecutor, "affinity", staticmethod(lambda: 1))
    monkeypatch.setenv("VAE_CACHE_DIR", str(tmp_path))
    for name, value in {"VAE_SLURM_PARTITION": "gpu", "VAE_SLURM_GPUS": "1", "VAE_SLURM_TIME_MIN": "90",
                        "VAE_SLURM_CPUS": "8", "VAE_SLURM_PARALLEL": "4", "VAE_SLURM_ACCOUNT": "vae"}.items():
        monkeypatch.setenv(name, value)
    made = jobs._make(jobs.Executor("slurm"))
    assert isinstance(made, submitit.AutoExecutor)
    text = slurm._make_sbatch_string(command="python -m job", folder=tmp_path, map_count=20,
                                     **made._executor.parameters)
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=1", "#SBATCH --time=90",
                 "#SBATCH --cpus-per-task=8", "#SBATCH --array=0-19%4", "#SBATCH --account=vae",
                 "#SBATCH --job-name=vae-train"):
        assert line in text, line
    assert jobs.Executor("slurm").stack_size(10) == 64 and jobs.Executor("slurm").threads() == 8


def test_small_stacks_share_a_local_job_and_every_model_is_in_one():
    assert jobs.pack([10, 1, 1, 1, 1, 1, 1], float, 2) == [[10], [1, 1, 1, 1, 1, 1]]
    assert jobs.pack([3, 2], float, 8) == [[3], [2]]                   # never more jobs than items
    groups = [[TrainConfig(model=m, repeat=r, **{**TINY, "d_z": d}) for r in range(2)]
              for m in ("ae", "vae") for d in (2, 3, 4, 5, 6)]
    local = experiments.stack_tasks(groups, jobs.Executor("local", 2))
    assert len(local) == 8                                              # 4 × 2 jobs for 10 stacks
    dealt = [g for task in local for g in task.args[0]]
    assert sorted(map(str, dealt)) == sorted(str(tuple(g)) for g in groups)    # each stack once, whole
    assert len(experiments.stack_tasks(groups, jobs.Executor("slurm"))) == 10  # an array: one per stack
