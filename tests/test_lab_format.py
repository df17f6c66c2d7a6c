"""Opening an executed notebook in JupyterLab and letting it autosave changes nothing (`config.lab_format`)."""
import json
from pathlib import Path

import nbformat
import pytest

from vae_utils.config import lab_format

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = sorted((ROOT / "results" / "notebooks").glob("*.ipynb"))


def kernel_language_info():
    """The language_info of the python3 kernel's kernel_info reply, which Lab copies into the notebook."""
    from ipykernel.ipkernel import IPythonKernel
    return json.loads(json.dumps(IPythonKernel.language_info))


def lab_changes(path):
    """What opening notebook `path` in JupyterLab would change in it, one line each; [] for nothing."""
    old = path.read_text(encoding="utf-8")
    meta = json.loads(old)["metadata"]
    kernel = lab_format.installed_kernelspec(meta.get("kernelspec", {}).get("name", "python3"))
    changes = []
    if meta.get("kernelspec") != kernel:
        changes.append(f"kernelspec {meta.get('kernelspec')} becomes the installed kernel's {kernel}")
    if kernel["name"] == "python3" and meta.get("language_info") != kernel_language_info():
        changes.append(f"language_info {meta.get('language_info')} becomes {kernel_language_info()}")
    new = lab_format.lab_text(old)
    if new != old:
        olds, news = old.splitlines(keepends=True), new.splitlines(keepends=True)
        n = next((i for i, (a, b) in enumerate(zip(olds, news)) if a != b), min(len(olds), len(news)))
        was, becomes = (lines[n] if n < len(lines) else "<end of file>" for lines in (olds, news))
        differ = sum(a != b for a, b in zip(olds, news)) + abs(len(olds) - len(news))
        changes.append(f"saved again, {differ} line(s) differ, first line {n + 1}: {was!r} becomes {becomes!r}")
    return changes


def test_there_are_executed_notebooks_to_check():
    assert len(EXECUTED) >= 14, [p.name for p in EXECUTED]


@pytest.mark.parametrize("path", EXECUTED, ids=[p.stem for p in EXECUTED])
def test_opening_an_executed_notebook_in_lab_changes_nothing(path):
    changes = lab_changes(path)
    assert not changes, f"JupyterLab would modify {path.relative_to(ROOT)}:\n  " + "\n  ".join(changes)


def bad_notebook(path):
    """A notebook as papermill left them: display name 'Python 3', floats 8.0, no final newline."""
    code = nbformat.v4.new_code_cell("x = 8.0\nx", id="c1", execution_count=1, outputs=[
        nbformat.v4.new_output("execute_result", {"text/plain": "8.0", "application/json": {"x": 8.0}},
                               execution_count=1)])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# β-VAE\nline 2", id="m1"), code])
    nb.metadata.kernelspec = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata.language_info = kernel_language_info()
    nb.metadata.widgets = {"application/vnd.jupyter.widget-state+json": {
        "state": {"w1": {"model_name": "FloatProgressModel", "state": {"max": 8.0, "value": 2.5}}},
        "version_major": 2, "version_minor": 0}}
    path.write_text(nbformat.writes(nb), encoding="utf-8")     # papermill's way: no final newline
    return path


def test_a_notebook_papermill_wrote_is_turned_into_labs_form(tmp_path):
    bad = bad_notebook(tmp_path / "bad.ipynb")
    old = bad.read_text(encoding="utf-8")
    changes = lab_changes(bad)
    assert len(changes) == 2 and "'display_name': 'Python 3'," in changes[0] and "saved again" in changes[1]
    text = lab_format.lab_text(old)
    saved = json.loads(text)
    assert saved["metadata"]["kernelspec"] == lab_format.installed_kernelspec("python3")
    assert saved["metadata"]["kernelspec"]["display_name"] != "Python 3"
    widget = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]["w1"]["state"]
    output = saved["cells"][1]["outputs"][0]["data"]
    assert (type(widget["max"]), widget["value"], type(output["application/json"]["x"])) == (int, 2.5, int)
    assert output["text/plain"] == ["8.0"] and saved["cells"][1]["source"] == ["x = 8.0\n", "x"]   # text stays
    assert '"max": 8,' in text and "8.0," not in text
    assert text.startswith('{\n "cells": [\n  {\n   "cell_type": "markdown",') and "# β-VAE\\n" in text
    assert text.endswith("\n}\n") and not old.endswith("\n")
    expected = json.loads(old)
    expected["metadata"]["kernelspec"] = lab_format.installed_kernelspec("python3")
    assert saved == expected                         # 8 == 8.0: nothing else changed
    assert lab_format.rewrite(bad) and lab_changes(bad) == [] and not lab_format.rewrite(bad)


@pytest.mark.parametrize("value, sent_back", [
    (8.0, 8), (-0.0, 0), (2.5, 2.5), (0.1, 0.1), (1e-07, 1e-07), (7, 7), (True, True), ("8.0", "8.0"),
    (2 ** 53 + 1, 2 ** 53), (1.2345678901234567e20, 123456789012345670000), (1e21, 1e21), (10 ** 400, None)])
def test_numbers_come_back_as_a_browser_writes_them(value, sent_back):
    back = lab_format.js_number(value)
    assert back == sent_back and type(back) is type(sent_back)


def test_a_kernel_that_is_not_installed(monkeypatch):
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    def missing(self, name):
        raise NoSuchKernel(name)
    monkeypatch.setattr(KernelSpecManager, "get_kernel_spec", missing)
    assert lab_format.installed_kernelspec("python3") == lab_format.FALLBACK_KERNELSPEC
    with pytest.raises(NoSuchKernel):
        lab_format.installed_kernelspec("julia-1.10")


def test_a_run_publishes_its_notebook_in_labs_form(project, load_script):
    run_notebook = load_script("run_notebook")
    params = nbformat.v4.new_code_cell('x = 1\ndataset = "mnist"\nprotocol = {}\nprofile = "default"')
    params.metadata["tags"] = ["parameters"]
    shown = nbformat.v4.new_code_cell("from IPython.display import JSON, display\ndisplay(JSON({'v': x * 4.0}))")
    nb = nbformat.v4.new_notebook(cells=[params, shown])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, project / "notebooks" / "09_x.ipynb")
    (project / "params" / "quick" / "09_x--mnist.yaml").write_text("x: 2\n")
    run_notebook.execute("quick", "09_x--mnist")
    published = project / "results" / "profiles" / "quick" / "notebooks" / "09_x--mnist.ipynb"
    assert lab_changes(published) == []
    data = [o["data"] for o in json.loads(published.read_text())["cells"][-1]["outputs"] if "data" in o]
    assert data[0]["application/json"] == {"v": 8} and type(data[0]["application/json"]["v"]) is int
