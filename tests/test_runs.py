"""How runs are identified and skipped: the notebooks' own defaults, interactive runs, the digest
of a run's inputs, params/dry.yaml's parameters and the staging lock."""
import ast
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill
import pytest
from test_pipeline import make_notebook

from vae_utils.config import paths

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def defaults(notebook):
    return {name: ast.literal_eval(p["default"]) for name, p in papermill.inspect_notebook(str(notebook)).items()}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebooks_defaults_are_the_default_profiles_run_of_its_default_dataset(notebook):
    """Run All in Lab trains what `make all` trains (and loads it from the same cache)."""
    import yaml
    own = defaults(notebook)
    run = ROOT / "params" / "default" / (f"{notebook.stem}--{own['dataset']}.yaml" if "dataset" in own
                                         else f"{notebook.stem}.yaml")
    wanted = yaml.safe_load(run.read_text()) or {}
    differ = {k: (own.get(k), v) for k, v in wanted.items() if own.get(k) != v}
    assert differ == {}, f"{notebook.name}: defaults (notebook, {run.name}) differ: {differ}"
    assert own["profile"] == paths.INTERACTIVE


def test_an_interactive_profile_reads_the_default_files_and_writes_only_its_scratch_folder():
    assert paths.params_profile(paths.INTERACTIVE) == "default" and not paths.is_dry(paths.INTERACTIVE)
    assert paths.published_dir(paths.INTERACTIVE, create=False) == ROOT / "results" / "profiles" / "interactive"
    made = subprocess.run([sys.executable, str(ROOT / "vae_utils" / "config" / "paths.py"), "interactive"],
                          capture_output=True, text=True)
    assert made.returncode != 0 and "make runs default, quick, paper" in made.stderr


LAB_EDITS = {      # a reader's own edits of the parameters cell: the same writes as the defaults, on less work
    "01_theory": {"n_mc = 200_000": "n_mc = 20_000"},
    "02_ae_vs_vae_depth": {"d_z_list = [2, 10]": "d_z_list = [2, 3]", "protocol = {}":
                           'protocol = {"repeats": 2, "n_train": 600, "max_epochs": 2, "patience": 1}',
                           "assert_converged = True": "assert_converged = False", "iw_samples = 10": "iw_samples = 2"},
}


@pytest.mark.parametrize("name", LAB_EDITS)
def test_a_notebook_run_as_lab_runs_it_changes_nothing_committed(tmp_path, name):
    """A notebook executed with no parameters injected (Lab's Run All; only its parameters cell
    edited by hand for less work), in a git copy of the repository: `git status` shows nothing
    outside results/profiles/interactive/ (ignored) and the model cache."""
    copy = tmp_path / "repo"
    for folder in ("vae_utils", "scripts", "notebooks", "params", "results"):
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__", "profiles"))
    shutil.copy(ROOT / ".gitignore", copy / ".gitignore")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(copy)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], check=True)
    notebook = copy / "notebooks" / f"{name}.ipynb"
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            for old, new in LAB_EDITS[name].items():
                assert old in cell.source, f"{name}: the parameters cell no longer says {old!r}"
                cell.source = cell.source.replace(old, new)
    env = {**os.environ, "PYTHONPATH": str(copy), "TQDM_DISABLE": "1"}
    for variable in (paths.STAGE_ENV, "VAE_DATA_LIMIT", "VAE_CACHE_DIR"):   # nothing of a make run leaks in
        env.pop(variable, None)
    from nbclient import NotebookClient
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(notebook.parent)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    status = subprocess.run([*git, "status", "--porcelain", "--ignored"], capture_output=True, text=True).stdout
    changed = [line for line in status.splitlines() if "__pycache__" not in line and line != "!! .cache/"]
    assert changed == ["!! results/profiles/"], status
    written = copy / "results" / "profiles" / "interactive"
    assert list((written / "figures").glob("*.png"))
    if name != "01_theory":
        assert (written / "verdicts" / f"{name}--mnist.csv").exists()


def test_a_comment_edit_reruns_nothing_and_a_parameter_edit_reruns(project, load_script, monkeypatch, capsys):
    run_notebook = load_script("run_notebook")
    (project / "vae_utils").mkdir()
    module = project / "vae_utils" / "model.py"
    module.write_text('"""A module."""\ndef f(x):\n    return x + 1\n')
    make_notebook(project / "notebooks" / "09_x.ipynb", "print(x * 21)")
    run_file = project / "params" / "quick" / "09_x--mnist.yaml"
    run_file.write_text("x: 2\n")
    assert run_notebook.execute("quick", "09_x--mnist") is not None
    executed = project / "results" / "profiles" / "quick" / "notebooks" / "09_x--mnist.ipynb"
    first = executed.read_bytes()
    runs = []
    real = run_notebook.pm.execute_notebook
    monkeypatch.setattr(run_notebook.pm, "execute_notebook", lambda *a, **k: runs.append(a) or real(*a, **k))

    module.write_text('"""A module, described better."""\ndef f(x):  # add one\n\n    return x + 1\n')
    os.utime(executed, (0, 0))
    run_file.write_text("x: 2        # a comment in the run file\n")
    assert run_notebook.execute("quick", "09_x--mnist") is None and runs == []
    assert "up to date" in capsys.readouterr().out and executed.read_bytes() == first
    assert executed.stat().st_mtime > 1e9                                      # touched: Make sees it as new
    module.write_text('"""A module."""\ndef f(x):\n    return x + 2\n')          # code: runs again
    run_notebook.execute("quick", "09_x--mnist")
    run_file.write_text("x: 3\n")                                               # a parameter: runs again
    run_notebook.execute("quick", "09_x--mnist")
    run_notebook.execute("quick", "09_x--mnist", force=True)                          # asked to
    assert len(runs) == 3


def test_dry_run_parameters_must_be_declared_and_of_the_declared_type(tmp_path, load_script, monkeypatch):
    run_notebook = load_script("run_notebook")
    dry = tmp_path / "dry.yaml"
    good = (ROOT / "params" / "dry.yaml").read_text()
    assert "n_samples: 25" in good                      # what the edits below change
    monkeypatch.setattr(run_notebook.protocol, "dry_file", lambda: dry)
    dry.write_text(good)
    run_notebook.check_dry_parameters("paper-dry")
    dry.write_text(good.replace("n_samples: 25", "n_sample: 25"))
    with pytest.raises(ValueError, match=r"dry.yaml: parameter\(s\) \['n_sample'\] are declared by no notebook"):
        run_notebook.check_dry_parameters("paper-dry")
    dry.write_text(good.replace("n_samples: 25", "n_samples: fifty"))
    from vae_utils.config import runspec
    declared = papermill.inspect_notebook(str(ROOT / "notebooks" / "05_generation.ipynb"))
    with pytest.raises(ValueError, match="dry.yaml: n_samples='fifty' is not allowed; the notebook declares it as int"):
        runspec.parameters("paper-dry", "05_generation--mnist", declared)


def test_a_staging_folder_being_created_is_not_taken_for_a_dead_one(tmp_path, monkeypatch, load_script):
    """Cleaning waits for the staging lock, which a run holds from creating its folder to locking it."""
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    run_notebook = load_script("run_notebook")
    (tmp_path / "build").mkdir()
    young = tmp_path / "build" / "run-a-1"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import os, sys, time\nfrom filelock import FileLock\n"
        f"fh = FileLock({str(tmp_path / 'build' / '.staging.lock')!r}); fh.acquire()\n"
        f"os.mkdir({str(young)!r}); print('made', flush=True); time.sleep(1.5)\n"
        f"lock = FileLock({str(young / '.lock')!r}); lock.acquire()\n"
        "fh.release(); print('locked', flush=True); time.sleep(30)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "made"
        with run_notebook.staging_lock():                # waits until the folder is locked by its run
            run_notebook.remove_stale_staging()
        assert young.exists()
    finally:
        holder.kill()
        holder.wait()
    with run_notebook.staging_lock():                    # its run is dead now
        run_notebook.remove_stale_staging()
    assert not young.exists()
    bare = tmp_path / "build" / "run-b-2"
    bare.mkdir()                                         # no lock file at all: an older layout
    with run_notebook.staging_lock():
        run_notebook.remove_stale_staging()
    assert not bare.exists()


def test_a_sigterm_while_publishing_takes_effect_once_the_run_is_in_place(load_script):
    run_notebook = load_script("run_notebook")
    seen = []
    old = signal.signal(signal.SIGTERM, lambda number, frame: seen.append("terminated"))
    try:
        with run_notebook.signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
            seen.append("published")
        time.sleep(0.1)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert seen == ["published", "terminated"]


def test_a_stray_file_among_the_staging_folders_is_removed(tmp_path, monkeypatch, load_script):
    monkeypatch.setattr(paths, "PROJECT_ROOT", tmp_path)
    run_notebook = load_script("run_notebook")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "run-stray").write_text("not a folder")
    with run_notebook.staging_lock():
        run_notebook.remove_stale_staging()
    assert list((tmp_path / "build").glob("run-*")) == []


def test_relative_data_and_cache_folders_reach_the_kernel_as_absolute_paths(project, load_script, monkeypatch):
    """The kernel runs in notebooks/, so a relative VAE_DATA_DIR given on the command line would
    point somewhere else there; the run makes both folders absolute first."""
    run_notebook = load_script("run_notebook")
    monkeypatch.chdir(project)
    monkeypatch.setenv("VAE_DATA_DIR", "shared/data")
    monkeypatch.setenv("VAE_CACHE_DIR", "cache")
    make_notebook(project / "notebooks" / "09_x.ipynb",
                  "import os\n"
                  f"assert os.environ['VAE_DATA_DIR'] == {str(project.resolve() / 'shared' / 'data')!r}\n"
                  f"assert os.environ['VAE_CACHE_DIR'] == {str(project.resolve() / 'cache')!r}")
    (project / "params" / "quick" / "09_x--mnist.yaml").write_text("x: 2\n")
    assert run_notebook.execute("quick", "09_x--mnist") is not None
    assert os.environ["VAE_DATA_DIR"] == "shared/data"          # the caller's environment is restored


def test_a_sibling_run_file_that_changes_the_alpha_split_reruns_the_runs_on_its_dataset(repo, monkeypatch):
    """The α split of a run's families reads the other runs' files on its dataset: they are inputs
    of its digest (when their planned rows change) and prerequisites of its Make target."""
    for name in ("Makefile", "requirements.lock", "environment.yml", "pyproject.toml"):
        shutil.copy(ROOT / name, repo / name)
    monkeypatch.setattr(paths, "PROJECT_ROOT", repo)
    from vae_utils.engine import inputs
    run = "02_ae_vs_vae_depth--mnist"
    sibling, other = (repo / "params" / "quick" / f"{n}.yaml" for n in ("03_ae_vs_vae_latent_dim--mnist",
                                                                         "03_ae_vs_vae_latent_dim--fashion_mnist"))
    before = inputs.digest(inputs.parts("quick", run, device="cpu"))
    other.write_text(other.read_text().replace("d_z_list: [2, 3, 5]", "d_z_list: [2, 3, 5, 10]"))
    sibling.write_text(sibling.read_text() + "# a comment\n")
    assert inputs.digest(inputs.parts("quick", run, device="cpu")) == before      # not its dataset; a comment
    assert "d_z_list: [2, 3, 5]" in sibling.read_text()
    sibling.write_text(sibling.read_text().replace("d_z_list: [2, 3, 5]", "d_z_list: [2, 3, 5, 10]"))
    assert inputs.digest(inputs.parts("quick", run, device="cpu")) != before      # claim 1 on MNIST: one more row

    target = repo / "results" / "profiles" / "quick" / "notebooks" / f"{run}.ipynb"
    target.parent.mkdir(parents=True)
    target.touch()
    now = time.time()
    os.utime(target, (now + 100, now + 100))
    dry = lambda: subprocess.run(["make", "-n", "QUICK=1", str(target.relative_to(repo))], cwd=repo,
                                 capture_output=True, text=True).stdout
    assert f"run_notebook.py quick {run}" not in dry()
    os.utime(other, (now + 200, now + 200))                                  # another dataset's file: no
    assert f"run_notebook.py quick {run}" not in dry()
    os.utime(sibling, (now + 200, now + 200))
    assert f"run_notebook.py quick {run}" in dry()
