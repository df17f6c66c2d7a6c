"""What a run's results depend on, as digests: the run's notebook, its parameter file, the
profile's protocol, the rows its sibling runs plan, the library's code, the package versions and
the device. scripts/run_notebook.py records them in each run's metadata (`inputs` and their
digest `inputs_sha256`) and executes a run again only when the digest changed; scripts/status.py
(`make status`) compares them with today's to say which runs are current, stale (and why) or
missing. Torch-free but for the device (`device_type`)."""
import ast
import hashlib
import json
import platform
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from ..config import paths, protocol
from ..config.runspec import notebook_of, run_file, shown

PACKAGES = ["torch", "torchvision", "numpy", "scipy", "pandas", "scikit-learn",
            "matplotlib", "seaborn", "papermill"]
PARTS = ("notebook", "parameters", "protocol", "siblings", "code", "versions", "device")
# in words, for a reader of `make status`
PART_NAMES = {"notebook": "notebook cells", "parameters": "its parameter file", "protocol": "the protocol",
              "siblings": "the rows its sibling runs plan", "code": "library code", "versions": "package versions",
              "device": "device"}


def package_versions():
    """The versions of Python and of the packages a run's numbers depend on (None: not installed)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def code_digest(path):
    """sha256 of a Python file's code: comments, docstrings and layout left out."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


RUNNER = Path(__file__).resolve().parents[2] / "scripts" / "run_notebook.py"   # the script that runs notebooks


def library_digest(root):
    """sha256 of the code of vae_utils/ under `root` and of the script that runs the notebooks
    (`code_digest` of each file; a file unchanged since it was last read is not parsed again)."""
    found = {}
    for f in sorted((root / "vae_utils").rglob("*.py")) + [RUNNER]:
        stat = f.stat()
        found[str(f.relative_to(root)) if f.is_relative_to(root) else f.name] = _file_digest(
            f, stat.st_mtime_ns, stat.st_size)
    return _sha(found)


@lru_cache(maxsize=None)
def _file_digest(path, mtime_ns, size):
    return code_digest(path)


def _sha(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def device_type():
    """'cuda' when torch sees a GPU, else 'cpu' (the one input that needs torch)."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def parts(profile, run, device=None):
    """{part: sha256} of everything run `run` of `profile` depends on (PARTS): the notebook's
    cells and tags (not their outputs), its parameter file and the profile's protocol (and
    params/dry.yaml for a dry run) as parsed (comments do not count), the rows the other runs on
    its dataset plan to test (`families.sibling_plans`), the code of vae_utils/ and of
    scripts/run_notebook.py (comments and docstrings do not count), the package versions, and the
    device (`device`, or `device_type()`)."""
    from ..inference import families
    notebook = notebook_of(run)
    cells = [(c["cell_type"], c["source"], c.get("metadata", {}).get("tags", []))
             for c in json.loads(notebook.read_text())["cells"]]
    protocol_files = [protocol.protocol_file(profile)] + ([protocol.dry_file()] if paths.is_dry(profile) else [])
    return {"notebook": _sha(cells),
            "parameters": _sha(protocol.read_yaml(run_file(profile, run), "an input of the run")),
            "protocol": _sha({str(shown(f)): protocol.read_yaml(f, "an input of the run") for f in protocol_files}),
            "siblings": _sha(families.sibling_plans(profile, run)),
            "code": library_digest(paths.PROJECT_ROOT),
            "versions": _sha(package_versions()),
            "device": device or device_type()}


def digest(found):
    """The one sha256 of a run's input `parts`: what its metadata's `inputs_sha256` records."""
    return _sha({k: found[k] for k in PARTS})


def changed(recorded, found):
    """The PARTS whose digests differ between the `recorded` and the `found` inputs, in words."""
    return [PART_NAMES[k] for k in PARTS if recorded.get(k) != found.get(k)]
