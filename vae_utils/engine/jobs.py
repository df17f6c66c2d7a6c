"""Training jobs beyond this process, through submitit: each job trains one stack of models (or one
classifier) through the model store (lock, train, checksum, atomic save), so a job that fails or is
pre-empted leaves nothing a later run trusts, and running again trains only what is missing.

Where the jobs run is one setting, $VAE_EXECUTOR:

    serial       in this process, one stack after another, as always (the default; no jobs)
    local:N      N processes at a time on this machine, each with cores // N torch threads; each job
                 may run $VAE_LOCAL_TIME_MIN minutes (LOCAL_TIME_MIN; submitit's own limit, 2 minutes,
                 killed real training jobs)
    slurm        a Slurm job array; its options from $VAE_SLURM_* (`SLURM_OPTIONS`)
    debug        submitit's in-process executor (for tests and debugging)
"""
import os
import time
from dataclasses import dataclass

from ..config.paths import cache_dir

EXECUTOR_ENV = "VAE_EXECUTOR"
KINDS = ("serial", "local:N", "slurm", "debug")
SLURM_OPTIONS = {   # environment variable -> (submitit parameter, type, default; None: Slurm's own)
    "VAE_SLURM_PARTITION": ("slurm_partition", str, None),
    "VAE_SLURM_ACCOUNT": ("slurm_account", str, None),
    "VAE_SLURM_TIME_MIN": ("timeout_min", int, 240),
    "VAE_SLURM_CPUS": ("cpus_per_task", int, 2),
    "VAE_SLURM_GPUS": ("gpus_per_node", int, 0),
    "VAE_SLURM_MEM_GB": ("mem_gb", int, 8),
    "VAE_SLURM_PARALLEL": ("slurm_array_parallelism", int, 64),
}
LOCAL_TIME_ENV = "VAE_LOCAL_TIME_MIN"
LOCAL_TIME_MIN = 7 * 24 * 60    # a local job's time limit (minutes) when $VAE_LOCAL_TIME_MIN is unset
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Executor:
    """Where training jobs run (see the module docstring)."""
    kind: str           # serial, local, slurm or debug
    jobs: int = 1       # local: processes at a time

    def __str__(self):
        """As $VAE_EXECUTOR writes it: 'serial', 'local:2', 'slurm'."""
        return f"{self.kind}:{self.jobs}" if self.kind == "local" else self.kind

    def threads(self):
        """Torch threads per job: the cores shared out (local), the Slurm CPUs per task, else None."""
        if self.kind == "local":
            return max(1, (os.cpu_count() or 1) // self.jobs)
        if self.kind == "slurm":
            return slurm_parameters()["cpus_per_task"]
        return None

    def stack_size(self, device_default):
        """Members per stacked job: 64 for a Slurm job with a GPU, else what this process would use."""
        if self.kind == "slurm" and slurm_parameters()["gpus_per_node"] > 0:
            return 64
        return device_default


def parse(text):
    """The Executor `text` names; ValueError naming the value and the allowed forms."""
    value = (text or "serial").strip()
    if value in ("serial", "slurm", "debug"):
        return Executor(value)
    if value.startswith("local:") and value[6:].isdigit() and int(value[6:]) >= 1:
        return Executor("local", int(value[6:]))
    raise ValueError(f"{EXECUTOR_ENV}={text!r} is not allowed; allowed: {', '.join(KINDS)} (N >= 1 processes)")


def current():
    """The Executor of $VAE_EXECUTOR (serial when unset)."""
    return parse(os.environ.get(EXECUTOR_ENV))


def slurm_parameters(environ=None):
    """The submitit parameters of a Slurm job from $VAE_SLURM_* (defaults in SLURM_OPTIONS);
    ValueError naming the variable and its type when a value does not parse."""
    environ = os.environ if environ is None else environ
    found = {}
    for name, (parameter, kind, default) in SLURM_OPTIONS.items():
        text = environ.get(name)
        if text is None or text == "":
            if default is not None:
                found[parameter] = default
            continue
        try:
            value = kind(text)
            if kind is int and value < 0:
                raise ValueError
        except ValueError:
            raise ValueError(f"{name}={text!r} is not allowed; it must be "
                             f"{'an integer >= 0' if kind is int else 'a name'}") from None
        found[parameter] = value
    return found


def local_time_min(environ=None):
    """A local job's time limit in minutes: $VAE_LOCAL_TIME_MIN, else LOCAL_TIME_MIN; ValueError
    naming the variable when it is not a positive number."""
    text = (os.environ if environ is None else environ).get(LOCAL_TIME_ENV) or str(LOCAL_TIME_MIN)
    try:
        value = float(text)
        if not value > 0:
            raise ValueError
    except ValueError:
        raise ValueError(f"{LOCAL_TIME_ENV}={text!r} is not allowed; it must be a number of minutes > 0") from None
    return value


def log_folder():
    """Where jobs keep their logs and pickles: beside the model cache (shared on a cluster)."""
    return cache_dir() / ".jobs"


@dataclass(frozen=True)
class Task:
    """One job: `function(*args)` run in the job's process; `label` names it on the console."""
    label: str
    function: object
    args: tuple


def use_threads(threads):
    """In a job: at most `threads` torch threads (None: as the process started)."""
    if threads:
        import torch
        torch.set_num_threads(min(torch.get_num_threads(), threads))


def pack(items, weight, bins):
    """`items` dealt into at most `bins` lists of about equal total `weight` (the heaviest first,
    each to the lightest list so far); each list keeps its items' order of dealing."""
    loads = [[0.0, []] for _ in range(min(bins, len(items)))]
    for item in sorted(items, key=weight, reverse=True):
        lightest = min(loads, key=lambda load: load[0])
        lightest[0] += weight(item)
        lightest[1].append(item)
    return [members for _, members in loads]


def _make(executor):
    import submitit
    folder = log_folder() / "%j"
    if executor.kind == "local":
        made = submitit.LocalExecutor(folder=folder)
        made.update_parameters(timeout_min=local_time_min())
        return made
    if executor.kind == "debug":
        return submitit.DebugExecutor(folder=folder)
    made = submitit.AutoExecutor(folder=folder, cluster="slurm")
    made.update_parameters(name="vae-train", **slurm_parameters())
    return made


def _error_of(job):
    """The exception a finished job raised (None: it succeeded); asking runs a debug job."""
    try:
        return job.exception()
    except Exception as err:                  # noqa: BLE001 (the job's outcome could not be read)
        return err


def failure(job, task, error):
    """A failed job in one line: which, why (the error's last line) and where its log is."""
    text = str(error)
    parts = text.split("-" * 22)                # submitit frames the job's traceback with dashes
    lines = [line for line in (parts[1] if len(parts) >= 3 else text).strip().splitlines() if line.strip()]
    reason = lines[-1].strip() if lines else type(error).__name__
    if "timed-out" in text or "timed out" in text:
        reason += f" (the time limit of a job: ${LOCAL_TIME_ENV} for local:N, $VAE_SLURM_TIME_MIN for slurm)"
    return f"job {job.job_id} ({task.label}) failed: {reason}; its log: {job.paths.stderr}"


def run_jobs(tasks, executor, report=print, wait=True):
    """Submit `tasks` through `executor` (local: at most `executor.jobs` at a time; slurm: one job
    array) and, with `wait`, follow them to the end, reporting jobs done, running, failed and
    waiting whenever that changes; returns the failures (`failure`), empty when all succeeded."""
    if executor.kind == "serial":
        raise ValueError("serial training runs in this process; there are no jobs to submit")
    made, pending, running, done, failed = _make(executor), list(tasks), [], 0, []
    if executor.kind == "slurm":
        with made.batch():
            running = [(made.submit(t.function, *t.args), t) for t in pending]
        pending = []
        report(f"submitted {len(running)} job(s) as a Slurm array; logs in {log_folder()}")
        if not wait:
            return []
    last = None
    while pending or running:
        while pending and (executor.kind != "local" or len(running) < executor.jobs):
            task = pending.pop(0)
            running.append((made.submit(task.function, *task.args), task))
        still = []
        for job, task in running:
            if executor.kind == "debug" or job.done():      # the debug executor runs a job when asked
                error = _error_of(job)
                if error is not None or job.state in ("FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY"):
                    failed.append(failure(job, task, error))
                else:
                    done += 1
            else:
                still.append((job, task))
        running = still
        line = f"jobs: {done} done, {len(running)} running, {len(failed)} failed, {len(pending)} waiting"
        if line != last:
            report(line)
            last = line
        if running:
            time.sleep(POLL_SECONDS)
    for message in failed:
        report(message)
    return failed
