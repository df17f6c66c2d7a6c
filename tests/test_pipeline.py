"""The Makefile's helpers: dependency pins from environment.yml, and safe notebook runs."""
import ast
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parent.parent




def test_environment_pins_become_pip_requirements(load_script):
    env_to_pip = load_script("env_to_pip")
    reqs = env_to_pip.pip_requirements((ROOT / "environment.yml").read_text())
    assert "torch==2.14.0" in reqs and "torchvision==0.29.2" in reqs
    assert "ipykernel==7.4.*" in reqs
    assert not any(r.startswith(("python", "pip=")) for r in reqs)
    for needed in ("papermill", "nbval", "matplotlib", "seaborn", "pandas", "scikit-learn", "tqdm",
                   "pytest", "jupyterlab"):
        assert any(r.startswith(needed + "==") for r in reqs), needed


def make_notebook(path, body):
    params = nbformat.v4.new_code_cell('x = 1\ndataset = "mnist"\nprotocol = {}\nprofile = "default"')
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_the_protocol_is_layered_all_then_dataset_then_overrides(project):
    from vae_utils.config import protocol
    assert protocol.load("quick", "mnist")["max_epochs"] == 3 and protocol.load("quick", "mnist")["n_train"] == 600
    frey = protocol.load("quick", "frey_face", {"seed": 5})
    assert (frey["max_epochs"], frey["n_train"], frey["seed"], frey["repeats"]) == (9, None, 5, 2)
    assert set(protocol.training_fields(frey)) == set(protocol.TRAINING)
    with pytest.raises(ValueError, match="repeats: 1 is not allowed"):
        protocol.load("quick", "mnist", {"repeats": 1})
    for streams in (0, 1.5, True):
        with pytest.raises(ValueError, match=f"continuation_streams: {streams!r} is not allowed"):
            protocol.load("quick", "mnist", {"continuation_streams": streams})
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['epoch'\]"):
        protocol.load("quick", "mnist", {"epoch": 5})
    (project / "params" / "quick" / "protocol.yaml").write_text("all:\n  max_epochs: 3\nmnsit:\n  max_epochs: 1\n")
    with pytest.raises(ValueError, match=r"unknown section\(s\) \['mnsit'\]"):
        protocol.load("quick", "mnist")


def test_a_run_gets_its_own_parameters_and_the_profile(project, load_script):
    from vae_utils.config import runspec
    run_notebook = load_script("run_notebook")
    make_notebook(project / "notebooks" / "09_x.ipynb", "print(x)")
    (project / "params" / "quick" / "09_x--frey_face.yaml").write_text("dataset: frey_face\nx: 2\n")
    declared = run_notebook.pm.inspect_notebook(str(project / "notebooks" / "09_x.ipynb"))
    params = runspec.parameters("quick", "09_x--frey_face", declared)
    assert params == {"dataset": "frey_face", "x": 2, "profile": "quick"}
    assert runspec.protocol_of(params, declared)["max_epochs"] == 9


@pytest.mark.parametrize("run_file, message", [
    ("x: 2\ntypo: 3\n", r"params/quick/09_x--mnist.yaml: unknown parameter\(s\) \['typo'\].*allowed: \["),
    # outputs are named `<notebook>--<dataset>`: a file whose name says another dataset is an error
    ("dataset: frey_face\n", r"run '09_x--mnist' is not allowed: it runs 09_x.ipynb with dataset='frey_face'.*"
                             r"named 09_x--frey_face.yaml"),
], ids=["unknown parameter", "named for another dataset"])
def test_a_bad_run_file_fails_before_running(project, load_script, run_file, message):
    run_notebook = load_script("run_notebook")
    make_notebook(project / "notebooks" / "09_x.ipynb", "print(x)")
    (project / "params" / "quick" / "09_x--mnist.yaml").write_text(run_file)
    with pytest.raises(ValueError, match=message):
        run_notebook.execute("quick", "09_x--mnist")
    assert not (project / "results").exists()


def test_failing_or_killed_run_leaves_no_output_anywhere(project, monkeypatch, load_script):
    run_notebook = load_script("run_notebook")
    make_notebook(project / "notebooks" / "09_x.ipynb", "print(x)")
    (project / "params" / "quick" / "09_x--mnist.yaml").write_text("x: 2\n")

    def killed(notebook, output, **kwargs):     # papermill writes the output as it goes, then dies
        open(output, "w").write("{}")
        raise KeyboardInterrupt
    monkeypatch.setattr(run_notebook.pm, "execute_notebook", killed)
    with pytest.raises(KeyboardInterrupt):
        run_notebook.execute("quick", "09_x--mnist")
    assert not (project / "results").exists()
    assert list((project / "build").glob("run-*")) == []


def test_successful_run_writes_notebook_and_metadata_without_kernel_noise(project, capfd, load_script):
    run_notebook = load_script("run_notebook")
    make_notebook(project / "notebooks" / "09_x.ipynb", "y = x * 21 + len(protocol)\nprint(y)")
    (project / "params" / "quick" / "09_x--mnist.yaml").write_text("x: 2\n")
    run_notebook.execute("quick", "09_x--mnist")
    out = project / "results" / "profiles" / "quick"
    executed = nbformat.read(out / "notebooks" / "09_x--mnist.ipynb", as_version=4)
    assert "42" in "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    meta = json.loads((out / "metadata" / "09_x--mnist.json").read_text())
    assert meta["parameters"] == {"x": 2, "profile": "quick"} and meta["profile"] == "quick"
    assert meta["protocol"]["max_epochs"] == 3 and meta["protocol"]["repeats"] == 2
    assert "torch" in meta["versions"] and meta["wall_seconds"] >= 0 and meta["cpu_flags"]
    assert "without encryption" not in capfd.readouterr().err
    assert list((project / "build").glob("run-*")) == []


def test_make_clean_keeps_the_paper_and_default_results():
    out = subprocess.run(["make", "-n", "clean"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "results/profiles/quick" in out
    assert not re.search(r"results/profiles(\s|/paper|$)", out) and "rm -rf results " not in out


def test_the_protocol_lives_only_in_the_protocol_files_and_the_makefile_asks_paths_for_folders():
    from vae_utils.config import protocol
    from vae_utils.core.data import DATASETS
    for notebook in (ROOT / "notebooks").glob("[0-9]*.ipynb"):
        declared = set(papermill.inspect_notebook(str(notebook)))
        if "protocol" in declared:          # a notebook that trains takes its protocol from the file
            assert not declared & set(protocol.FIELDS), notebook.name
    for profile in ("default", "quick", "paper"):
        for dataset in DATASETS:
            assert set(protocol.load(profile, dataset)) == set(protocol.FIELDS)
        for path in (ROOT / "params" / profile).glob("[0-9]*.yaml"):
            text = path.read_text()
            assert not re.search(r"^(profile|repeats|n_train|max_epochs|patience|min_effect):", text, re.M), path
    out = subprocess.run(["make", "-n", "-B", "all", "QUICK=1"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "scripts/run_notebook.py quick 01_theory" in out      # -B: whether or not the quick runs are up to date


DISCARDING_METHODS = {"round", "head", "tail", "describe", "to_frame", "set_index", "reset_index", "agg"}


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("[0-9]*.ipynb")), ids=lambda p: p.stem)
def test_no_table_is_built_and_silently_dropped(notebook):
    # a table expression inside an if/for block is never displayed (notebook 5's ceiling was lost so)
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        nested = [stmt for node in ast.walk(tree) if node is not tree
                  for field in ("body", "orelse", "finalbody") if isinstance(getattr(node, field, None), list)
                  for stmt in getattr(node, field)]
        for stmt in nested:
            value = stmt.value if isinstance(stmt, ast.Expr) else None
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
                assert value.func.attr not in DISCARDING_METHODS, f"{notebook.name}: {ast.unparse(stmt)}"


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_papermill_reads_every_parameter_of_every_notebook(notebook):
    """papermill skips a parameter line it cannot parse (e.g. a comment holding '='), and the
    parameter files that set it then fail as 'unknown'; every assigned name must be declared."""
    cell = next(c for c in nbformat.read(notebook, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    assigned = {t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    declared = set(papermill.inspect_notebook(str(notebook)))
    assert assigned and assigned == declared, f"papermill cannot read {sorted(assigned - declared)}"


def test_the_lock_is_made_from_todays_environment_and_pins_every_package_with_hashes(load_script):
    env_to_pip = load_script("env_to_pip")
    reqs = env_to_pip.pip_requirements((ROOT / "environment.yml").read_text())
    lock = (ROOT / "requirements.lock").read_text()
    digest = hashlib.sha256(("\n".join(reqs) + "\n").encode()).hexdigest()
    assert lock.splitlines()[2] == f"# {digest}", "environment.yml changed after the lock was made: run make lock"
    blocks = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)(.*?)(?=^[A-Za-z]|\Z)", lock, re.M | re.S)
    pinned = {name.lower().replace("_", "-") for name, _, _ in blocks}
    assert len(blocks) > 100 and all("--hash=sha256:" in rest for _, _, rest in blocks)
    assert {r.split("==")[0].lower() for r in reqs} <= pinned


def test_a_forced_rerun_reruns_every_run_and_never_rebuilds_the_environment():
    out = subprocess.run(["make", "-n", "all", "QUICK=1", "FORCE=1"], cwd=ROOT, capture_output=True, text=True).stdout
    runs = sorted(p.stem for p in (ROOT / "params" / "quick").glob("[0-9]*.yaml"))
    assert all(f"run_notebook.py quick {run} --force" in out for run in runs)
    again = subprocess.run(["make", "-B", "venv"], cwd=ROOT, capture_output=True, text=True)   # even -B:
    assert again.returncode == 0 and "already built from this requirements.lock" in again.stdout   # a digest


def test_make_venv_refuses_an_unsupported_python_before_installing_anything(tmp_path):
    fake = tmp_path / "python3.9"
    fake.write_text("#!/bin/sh\necho 3.9\n")
    fake.chmod(0o755)
    out = subprocess.run(["bash", "scripts/make_venv.sh", str(tmp_path / "venv")], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "PYTHON": str(fake)})
    assert out.returncode == 1 and f"{fake} is Python 3.9" in out.stderr and "PYTHON=python3.11" in out.stderr
    assert not (tmp_path / "venv").exists()
