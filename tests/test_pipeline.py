"""The Makefile's helpers: dependency pins from environment.yml, and safe notebook runs."""
import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_environment_pins_become_pip_requirements():
    env_to_pip = load_script("env_to_pip")
    reqs = env_to_pip.pip_requirements((ROOT / "environment.yml").read_text())
    assert "torch==2.14.0" in reqs and "torchvision==0.29.2" in reqs
    assert "ipykernel==7.4.*" in reqs
    assert not any(r.startswith(("python", "pip=")) for r in reqs)
    for needed in ("papermill", "nbval", "matplotlib", "seaborn", "pandas", "scikit-learn", "tqdm",
                   "pytest", "jupyterlab"):
        assert any(r.startswith(needed + "==") for r in reqs), needed


def make_notebook(path, body):
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_unknown_parameter_fails_before_running(tmp_path):
    run_notebook = load_script("run_notebook")
    make_notebook(tmp_path / "nb.ipynb", "print(x)")
    (tmp_path / "p.yaml").write_text("x: 2\ntypo: 3\n")
    with pytest.raises(SystemExit, match=r"unknown parameter\(s\) \['typo'\].*allowed: \['x'\]"):
        run_notebook.main(tmp_path / "nb.ipynb", tmp_path / "p.yaml", tmp_path / "out" / "nb.ipynb")
    assert not (tmp_path / "out" / "nb.ipynb").exists()


def test_failing_notebook_leaves_no_output(tmp_path):
    run_notebook = load_script("run_notebook")
    make_notebook(tmp_path / "nb.ipynb", "raise RuntimeError('boom')")
    (tmp_path / "p.yaml").write_text("x: 2\n")
    out = tmp_path / "out" / "notebooks" / "nb.ipynb"
    with pytest.raises(Exception, match="boom"):
        run_notebook.main(tmp_path / "nb.ipynb", tmp_path / "p.yaml", out)
    assert list(out.parent.iterdir()) == []


def test_successful_run_writes_notebook_and_metadata(tmp_path):
    run_notebook = load_script("run_notebook")
    make_notebook(tmp_path / "nb.ipynb", "y = x * 21\nprint(y)")
    (tmp_path / "p.yaml").write_text("x: 2\n")
    out = tmp_path / "out" / "notebooks" / "nb.ipynb"
    run_notebook.main(tmp_path / "nb.ipynb", tmp_path / "p.yaml", out)
    executed = nbformat.read(out, as_version=4)
    assert "42" in "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    import json
    meta = json.loads((tmp_path / "out" / "metadata" / "nb.json").read_text())
    assert meta["parameters"] == {"x": 2} and "torch" in meta["versions"] and meta["wall_seconds"] >= 0
