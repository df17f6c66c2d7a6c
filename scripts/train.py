"""Prefill a profile's model cache: train every model its runs need, once each, before they run.

    python scripts/train.py PROFILE [RUN ...] [--no-wait]

The models come from each run's parameter file (`vae_utils.study.plan`); those already in the cache
are skipped, the rest are grouped into the stacks the runs would train themselves (run by run, call
by call: the same members, so the same weights to the last bit) and trained as jobs where $VAE_EXECUTOR says
(`vae_utils.engine.jobs`: serial in this process, local:N processes, a Slurm array), then each
labelled dataset's classifier. `make all` afterwards only loads them. A failed job is named with
its log and the command exits 1; running it again trains only what is still missing. With
--no-wait (Slurm), it returns once the jobs are submitted.
"""
import argparse
import os
import sys
import time

from vae_utils.config import paths, runspec
from vae_utils.engine import cache, experiments, jobs
from vae_utils.engine.progress import duration
from vae_utils.engine.stacked import stack_groups
from vae_utils.study import plan


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", help=f"one of {', '.join(paths.PROFILES)}, or <profile>-dry")
    parser.add_argument("runs", nargs="*", help="runs of the profile (default: all)")
    parser.add_argument("--no-wait", action="store_true", help="return once the jobs are submitted (Slurm)")
    args = parser.parse_args(argv)
    paths.check_profile(args.profile)
    executor = jobs.current()                       # a bad $VAE_EXECUTOR fails here, before any work
    known = runspec.runs_of(args.profile)
    unknown = [r for r in args.runs if r not in known]
    if unknown:
        sys.exit(f"train: no such run in profile {args.profile}: {', '.join(unknown)}; runs: {', '.join(known)}")
    os.environ.update(runspec.dry_environment(args.profile))   # a dry run: its data cut and its own cache
    ordered, classifiers = plan.profile_calls(args.profile, args.runs or None)
    configs = [c for call in ordered for c in call]
    missing = {c for c in configs if cache.load(c) is None}
    ordered = [[c for c in call if c in missing] for call in ordered]
    print(f"train: {args.profile}: {len(configs)} model(s) in {len(args.runs or known)} run(s); "
          f"{len(configs) - len(missing)} in the cache ({paths.cache_dir()}), {len(missing)} to train "
          f"({jobs.EXECUTOR_ENV}={executor})")
    start = time.perf_counter()
    if executor.kind == "serial":
        for call in ordered:
            experiments.run_all(call)
        for classifier in classifiers:
            plan.train_classifier(classifier)
        failures = []
    else:                       # the stacks the runs would train, as jobs, the longest first
        size = executor.stack_size(experiments.default_stack_size())
        groups = [group for call in ordered for group in stack_groups(call, size)]
        tasks = [jobs.Task(f"classifier {c.dataset}", plan.train_classifier, (c, executor.threads()))
                 for c in classifiers]
        tasks += experiments.stack_tasks(groups, executor)
        failures = jobs.run_jobs(tasks, executor, wait=not args.no_wait)
    if failures:
        print(f"train: {len(failures)} job(s) failed (above, with their logs); run the command again to train "
              f"what is still missing", file=sys.stderr)
        return 1
    if not args.no_wait:
        left = [c for c in missing if cache.load(c) is None]      # the others were there before
        if left:
            print(f"train: {len(left)} model(s) are still not in the cache", file=sys.stderr)
            return 1
        print(f"train: every model of {args.profile} is in the cache ({duration(time.perf_counter() - start)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
