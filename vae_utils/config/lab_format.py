"""A notebook's text exactly as JupyterLab 4.6 saves it, so that opening it there changes nothing.

What Lab and jupyter_server 2 do to a notebook that is opened, left untouched and autosaved:

* jupyter_server reads it with `nbformat.reads(text, as_version=4)` (multi-line strings joined) and
  sends it to the browser as JSON;
* Lab sets `metadata.kernelspec` to {name, display_name, language} of the kernel it starts, from
  the installed kernelspec (NotebookPanel._updateSpec), and `metadata.language_info` to the
  kernel's kernel_info reply; a value deep-equal to the old one changes nothing (YNotebook.setMetadata),
  any other marks the notebook modified, and it is autosaved (every 120 s by default);
* the browser sends it back as JavaScript's JSON.stringify writes it: a float with an integral
  value becomes an integer (8.0 -> 8);
* jupyter_server writes it with `nbformat.write`: indent 1, keys sorted, separators (",", ": "),
  non-ASCII characters as they are, multi-line strings split into lines, one final newline.

`language_info` is left as it is: papermill records the kernel's own kernel_info reply, the one
Lab reads. Notebooks of format 4.5 (what papermill writes here) are assumed: Lab upgrades older ones
and gives their cells random ids, which no function can predict.
"""
import json
import math
from decimal import Decimal
from pathlib import Path

import nbformat

# ipykernel's own python3 spec (`ipykernel.kernelspec.get_kernel_dict`), used when none is found
FALLBACK_KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
JS_EXACT_INTEGERS = 2 ** 53      # beyond this a JavaScript number rounds an integer
JS_EXPONENT_FROM = 1e21          # from here JSON.stringify writes 1e+21: Python reads it as a float


def installed_kernelspec(name="python3"):
    """The kernelspec metadata Lab writes for kernel `name`: its installed spec's display name and
    language (jupyter_client's KernelSpecManager, as jupyter_server reads it). When no such kernel
    is installed (nor ipykernel, whose python3 jupyter_client otherwise falls back to), python3 gets
    FALLBACK_KERNELSPEC and another name a KeyError."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        if name != FALLBACK_KERNELSPEC["name"]:
            raise
        return dict(FALLBACK_KERNELSPEC)
    return {"display_name": spec.display_name, "language": spec.language, "name": name}


def js_number(x):
    """The number Python reads back after a browser has parsed `x` and written it with JSON.stringify."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return x
    if isinstance(x, int) and abs(x) <= JS_EXACT_INTEGERS:
        return x
    if isinstance(x, float) and not (math.isfinite(x) and x.is_integer()):
        return x                     # same double, written by Python (NaN: Lab cannot even load it)
    try:
        value = float(x)
    except OverflowError:            # an integer beyond any double: Infinity, written as null
        return None
    if abs(value) >= JS_EXPONENT_FROM:
        return value
    return int(Decimal(repr(value)))  # JavaScript's shortest digits, padded with zeros: exact in Decimal


def js_numbers(value):
    """`value` (JSON: dicts, lists, numbers, strings) with every number as a browser sends it back."""
    if isinstance(value, dict):
        return {key: js_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [js_numbers(item) for item in value]
    return js_number(value)


def lab_text(nb, kernelspec=None):
    """The text JupyterLab + jupyter_server save for notebook `nb` (a dict or NotebookNode, or its
    JSON text) opened and saved unchanged; `kernelspec` defaults to `installed_kernelspec` of the
    notebook's kernel (python3 when it names none)."""
    text = nb if isinstance(nb, str) else json.dumps(nb)
    served = nbformat.reads(text, as_version=4)                  # what jupyter_server sends
    saved = nbformat.from_dict(js_numbers(json.loads(json.dumps(served))))   # what Lab sends back
    name = saved.metadata.get("kernelspec", {}).get("name") or FALLBACK_KERNELSPEC["name"]
    saved.metadata["kernelspec"] = dict(kernelspec or installed_kernelspec(name))
    out = nbformat.writes(saved, version=nbformat.NO_CONVERT)
    return out if out.endswith("\n") else out + "\n"             # nbformat.write adds it


def rewrite(path, kernelspec=None):
    """Rewrite notebook file `path` in Lab's form (`lab_text`); True when its bytes changed."""
    path = Path(path)
    old = path.read_text(encoding="utf-8")
    new = lab_text(old, kernelspec)
    if new != old:
        path.write_text(new, encoding="utf-8")      # text mode, as jupyter_server's atomic_writing
    return new != old
