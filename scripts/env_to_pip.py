"""Turn environment.yml's conda pins into pip requirement lines (stdout).

environment.yml is the single list of dependencies; this keeps the pip-built
virtual environment in step with it. Only the standard library is used, since
it runs before the environment exists.
"""
import re
import sys

CONDA_TO_PIP = {"pytorch": "torch"}  # names that differ between conda-forge and PyPI
SKIP = {"python", "pip"}             # provided by the interpreter that builds the venv

PIN = re.compile(r"^\s*-\s+([A-Za-z0-9_.\-]+)\s*=\s*([0-9][0-9A-Za-z.*]*)\s*(#.*)?$")


def pip_requirements(text):
    reqs = []
    for line in text.splitlines():
        m = PIN.match(line)
        if not m:
            continue
        name, version = m.group(1), m.group(2)
        if name in SKIP:
            continue
        name = CONDA_TO_PIP.get(name, name)
        # conda's "=1.9" means any 1.9.x; an exact three-part pin stays exact.
        spec = f"=={version}" if version.count(".") >= 2 else f"=={version}.*"
        reqs.append(name + spec)
    if not reqs:
        sys.exit("env_to_pip: no pinned packages found in environment.yml")
    return reqs


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "environment.yml"
    with open(path) as fh:
        print("\n".join(pip_requirements(fh.read())))
