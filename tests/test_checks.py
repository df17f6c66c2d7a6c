"""Every value of every run file and of the protocol is checked before any work (`make all`'s first
step, `run_notebook.py PROFILE --check`): one line per problem, naming file, field, value and what is
allowed, no traceback, a non-zero exit."""
import pytest

from vae_utils.config import rules

DEPTH = "params/default/02_ae_vs_vae_depth--mnist.yaml"
BETA = "params/default/04_beta_vae--mnist.yaml"
PROTOCOL = "params/default/protocol.yaml"


@pytest.mark.parametrize("file, old, new, line", [
    (DEPTH, "d_z_list: [2, 10]", "d_z_list: [-2, 3]",
     f"{DEPTH}: d_z_list: [-2, 3] is not allowed; -2 in it: it must be an integer with 1 <= d_z < d_x = 784"),
    (BETA, "d_z: 10", "d_z: 784",
     f"{BETA}: d_z: 784 is not allowed; it must be an integer with 1 <= d_z < d_x = 784"),
    (BETA, "betas: [0, 0.001, 0.02, 0.1, 0.5, 1, 1.5, 4, 10]", "betas: [0, 0.5, 4]",
     f"{BETA}: betas: [0, 0.5, 4] is not allowed; it must include 1 (the plain VAE)"),
    (PROTOCOL, "max_epochs: 250", 'max_epochs: "three"',
     f"{PROTOCOL} [all]: max_epochs: 'three' is not allowed; it must be an integer >= 1"),
    (PROTOCOL, "lr: 0.001", "lr: fast",
     f"{PROTOCOL} [all]: lr: 'fast' is not allowed; it must be a number > 0"),
    (PROTOCOL, "patience: 50", "patience: 0",
     f"{PROTOCOL} [frey_face]: patience: 0 is not allowed; it must be an integer >= 1"),
    ("params/default/02_ae_vs_vae_depth--mnst.yaml", None, "dataset: mnst\n",
     "params/default/02_ae_vs_vae_depth--mnst.yaml: dataset: 'mnst' is not allowed; allowed: mnist, "
     "fashion_mnist, frey_face, binarized_mnist"),
])
def test_a_bad_value_fails_the_check_in_one_line_naming_file_field_value_and_what_is_allowed(
        repo, run_notebook, file, old, new, line):
    path = repo / file
    text = path.read_text() if old else ""
    assert old is None or old in text
    path.write_text(text.replace(old, new) if old else new)
    bad = run_notebook(repo, "default", "--check")
    assert bad.returncode == 1 and line in bad.stderr.splitlines(), bad.stderr
    assert "Traceback" not in bad.stderr and not (repo / "results").exists() and not (repo / "build").exists()


def test_every_problem_is_reported_at_once(repo, run_notebook):
    assert run_notebook(repo, "default", "--check").returncode == 0       # the committed files pass
    depth, protocol = repo / DEPTH, repo / PROTOCOL
    depth.write_text(depth.read_text().replace("iw_samples: 10", "iw_samples: -1").replace("[1, 2]", "[0, 2]", 1))
    protocol.write_text(protocol.read_text().replace("alpha: 0.05", "alpha: 5"))
    bad = run_notebook(repo, "default", "--check")
    lines = bad.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines[:-1]] == ["alpha", "n_layers_list", "iw_samples"], bad.stderr
    assert lines[-1] == "run_notebook: 3 problem(s) in the files of profile default; nothing was run"


def test_the_rules_cover_every_protocol_field_and_the_library_reads_them():
    from vae_utils.config import protocol
    from vae_utils.engine.training import TrainConfig
    assert set(rules.PROTOCOL) == set(protocol.FIELDS)
    for field, value in (("max_epochs", 0), ("lr", -1.0), ("anneal", 1.5), ("min_delta", 1.0)):
        with pytest.raises(ValueError, match=f"{field}={value!r} is not allowed"):
            TrainConfig(dataset="mnist", model="ae", n_layers=1, d_z=2, **{field: value})
