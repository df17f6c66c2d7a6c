"""`make status` (scripts/status.py): each run of a profile is current, stale (naming the input
that changed) or missing, from the inputs its metadata recorded, without executing anything."""
import json

from test_pipeline import make_notebook


def test_a_run_is_current_then_stale_naming_what_changed_and_an_unrun_one_is_missing(project, load_script,
                                                                                     capsys):
    run_notebook, status = load_script("run_notebook"), load_script("status")
    (project / "vae_utils").mkdir()
    (project / "vae_utils" / "model.py").write_text("def f(x):\n    return x + 1\n")
    make_notebook(project / "notebooks" / "09_x.ipynb", "print(x * 21)")
    run_file = project / "params" / "quick" / "09_x--mnist.yaml"
    run_file.write_text("x: 2\n")
    (project / "params" / "quick" / "09_x--fashion_mnist.yaml").write_text("x: 5\n")   # never executed
    run_notebook.execute("quick", "09_x--mnist")
    meta = json.loads((project / "results" / "profiles" / "quick" / "metadata" / "09_x--mnist.json").read_text())
    assert set(meta["inputs"]) == {"notebook", "parameters", "protocol", "siblings", "code", "versions", "device"}

    def state(run):
        found, why, _ = status.run_status("quick", run, "cpu")
        return found, why
    assert state("09_x--mnist") == ("current", "")
    assert state("09_x--fashion_mnist") == ("missing", "no executed notebook")
    run_file.write_text("x: 2   # a comment does not count\n")
    assert state("09_x--mnist") == ("current", "")
    run_file.write_text("x: 3\n")
    assert state("09_x--mnist") == ("stale", "changed: its parameter file")
    (project / "vae_utils" / "model.py").write_text("def f(x):\n    return x + 2\n")
    assert state("09_x--mnist") == ("stale", "changed: its parameter file, library code")
    assert status.run_status("quick", "09_x--mnist", "cuda")[1].endswith("library code, device")

    status.main.__globals__["sys"].argv = ["status.py", "quick"]
    status.main()
    out = capsys.readouterr().out
    assert "09_x--mnist" in out and "stale" in out and "quick: 0 current, 1 stale, 1 missing of 2 runs" in out


def test_metadata_with_only_the_one_digest_is_stale_without_a_reason_it_cannot_know(project, load_script):
    status = load_script("status")
    make_notebook(project / "notebooks" / "09_x.ipynb", "print(x)")
    (project / "params" / "quick" / "09_x--mnist.yaml").write_text("x: 2\n")
    out = project / "results" / "profiles" / "quick"
    (out / "notebooks").mkdir(parents=True)
    (out / "metadata").mkdir()
    (out / "notebooks" / "09_x--mnist.ipynb").write_text("{}")
    (out / "metadata" / "09_x--mnist.json").write_text(json.dumps({"inputs_sha256": "0" * 64, "git_commit": "abc",
                                                                   "cpu": "AMD EPYC", "wall_seconds": 3.0}))
    state, why, meta = status.run_status("quick", "09_x--mnist", "cpu")
    assert state == "stale" and "which changed is not known" in why
    assert status.made_by(meta) == "abc on AMD EPYC, 3.0 s"
