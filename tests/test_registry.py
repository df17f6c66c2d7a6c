"""The study's registry (vae_utils.config.notebooks) agrees with notebooks/ and params/, and the
judge is torch-free: adding a notebook is its .ipynb, its parameter files and one entry."""
import subprocess
import sys

import pytest

from vae_utils.config import notebooks
from vae_utils.config.datasets import DATASETS
from vae_utils.config.paths import PROJECT_ROOT
from vae_utils.study.judge import runs


def registry_problems(root, registry):
    """Disagreements between a project's notebooks/, its params/<profile>/ run files and `registry`."""
    found = {p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    problems = [f"{name}.ipynb is not in the registry" for name in sorted(found - set(registry))]
    problems += [f"the registry's {name} has no notebook" for name in sorted(set(registry) - found)]
    for run in sorted((root / "params").glob("*/[0-9]*.yaml")):
        name, _, dataset = run.stem.partition("--")
        if name not in registry:
            problems.append(f"{run.relative_to(root)}: no notebook {name} in the registry")
        elif dataset and registry[name].datasets and dataset not in registry[name].datasets:
            problems.append(f"{run.relative_to(root)}: {name} takes only {registry[name].datasets}")
    return problems


def test_every_notebook_and_run_file_is_in_the_registry():
    assert registry_problems(PROJECT_ROOT, notebooks.NOTEBOOKS) == []


def test_a_notebook_missing_from_the_registry_is_named(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "params" / "default").mkdir(parents=True)
    (tmp_path / "notebooks" / "07_new_question.ipynb").write_text("{}")
    (tmp_path / "params" / "default" / "07_new_question--mnist.yaml").write_text("")
    registry = dict(notebooks.NOTEBOOKS)
    assert registry_problems(tmp_path, registry)[:2] == ["07_new_question.ipynb is not in the registry",
                                                        "the registry's 01_theory has no notebook"]
    assert "params/default/07_new_question--mnist.yaml: no notebook 07_new_question in the registry" in \
        registry_problems(tmp_path, registry)


def test_every_judged_notebook_has_a_judge_and_unique_tag_and_number():
    judged = notebooks.JUDGED.values()
    assert {nb.tag for nb in judged} == set(runs.JUDGES)
    assert len({nb.number for nb in notebooks.NOTEBOOKS.values()}) == len(notebooks.NOTEBOOKS)
    for nb in judged:
        assert set(nb.claims) <= {1, 2, 3, 4, 5}
        assert all(notebooks.by_tag(tag) for tag in nb.shares.values())
    with pytest.raises(ValueError, match="not in the study's registry; known: 01_theory"):
        notebooks.notebook("07_missing")


def test_the_judge_and_the_report_import_no_torch_and_no_data_loader():
    code = ("import sys, vae_utils.study.judge, vae_utils.report.findings, vae_utils.config.runspec; "
            "bad = [m for m in ('torch', 'torchvision', 'vae_utils.core.data') if m in sys.modules]; "
            "sys.exit(f'imported {bad}' if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("name", ["mnist", "frey_face"])
def test_the_registry_knows_each_training_set_size(name):
    from vae_utils.core.data import load_dataset
    assert len(load_dataset(name).train_x) == DATASETS[name].train_size
