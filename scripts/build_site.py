"""Build the study's static website (Jupyter Book 1.x: Sphinx + MyST-NB) from the pages that exist.

    python scripts/build_site.py [OUT] [--quiet]   (`make site`; OUT defaults to build/site)

The pages are README.md (the front page), results/FINDINGS.md, results/README.md, docs/*.md,
CHANGELOG.md and the executed notebooks results/notebooks/*.ipynb, each one if it exists. They
are copied, at their repository paths, into OUT/src/ with every repository file they link to
(a figure becomes an image, another file a download, another page or notebook an extra page, a
folder a page that lists its files, as GitHub shows it), so the links written for GitHub work
unchanged. The table of contents and the config are generated there, and `jupyter-book build`
writes OUT/_build/html/ (open index.html). Notebooks are never executed: the site shows the
outputs stored in them.
"""
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

from vae_utils.config.datasets import DISPLAY_NAMES

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "site"

FRONT = "README.md"
NOTEBOOKS = "results/notebooks"
NOTEBOOKS_CAPTION = "Notebooks (executed)"
OTHER_CAPTION = "Other linked pages"
# (caption, pages) in the order of the table of contents; globs are sorted, missing pages skipped.
PARTS = [
    ("Findings", ["results/FINDINGS.md", "results/README.md"]),
    (NOTEBOOKS_CAPTION, [f"{NOTEBOOKS}/*.ipynb"]),
    ("Documentation", ["docs/protocol.md", "docs/reproducing.md", "docs/architecture.md",
                       "docs/*.md", "CHANGELOG.md"]),
]
PAGE_SUFFIXES = (".md", ".ipynb")
FOLDER_PAGES = ("README.md", "index.md")  # what a link to a folder opens, as on GitHub
NEVER_COPIED = {".git", ".venv", "build", "data", ".cache", "__pycache__"}  # links into these stay broken
MAX_LINKED_BYTES = 50 * 2**20

# A link target in Markdown ([text](target), [label]: target) or in HTML (src=, href=).
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)|^\s*\[[^\]]+\]:\s*<?(\S+?)>?\s*$|\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']",
                  re.MULTILINE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def markdown_of(path):
    """The Markdown text of a page: the file itself, or a notebook's Markdown cells."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".ipynb":
        return text
    cells = json.loads(text).get("cells", [])
    return "\n\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown")


def heading_of(page, default):
    return next((line[2:].strip() for line in markdown_of(ROOT / page).splitlines()
                 if line.startswith("# ")), default)


def in_repo(path):
    """path relative to the repository (posix), or None when outside it or in a folder never copied."""
    try:
        rel = path.resolve().relative_to(ROOT)
    except ValueError:
        return None
    if any(part in NEVER_COPIED for part in rel.parts):
        return None
    return rel.as_posix()


def linked_paths(page):
    """The repository files and folders that a page links to (relative paths; existing ones only)."""
    files, folders = set(), set()
    for m in LINK.finditer(markdown_of(ROOT / page)):
        target = next(g for g in m.groups() if g is not None)
        if target.startswith("#") or SCHEME.match(target):
            continue
        target = unquote(target.split("#", 1)[0].split("?", 1)[0])
        if not target or target.startswith("/"):
            continue
        path = (ROOT / page).parent / target
        rel = in_repo(path)
        if rel is None:
            continue
        if path.is_file() and path.stat().st_size <= MAX_LINKED_BYTES:
            files.add(rel)
        elif path.is_dir():
            folders.add(rel)
    return files, folders


def folder_content(folder):
    """(files, subfolders) directly in a repository folder, without what git ignores."""
    path = ROOT / folder
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "."],
                             cwd=path, capture_output=True, text=True, check=True).stdout
        names = {name.split("/", 1)[0] + ("/" if "/" in name else "") for name in out.split("\0") if name}
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: what is on disk
        names = {p.name + ("/" if p.is_dir() else "") for p in path.iterdir()}
    names = {n for n in names if not n.startswith(".") and n.rstrip("/") not in NEVER_COPIED}
    files = sorted(n for n in names if not n.endswith("/") and (path / n).is_file()
                   and (path / n).stat().st_size <= MAX_LINKED_BYTES)
    return files, sorted(n for n in names if n.endswith("/"))


def select_pages():
    """[(caption, [pages])] of the site's pages that exist, and the set of them all (front page too)."""
    if not (ROOT / FRONT).is_file():
        sys.exit(f"build_site: no {FRONT}, the front page")
    seen, parts = {FRONT}, []
    for caption, patterns in PARTS:
        pages = []
        for pattern in patterns:
            for path in sorted(ROOT.glob(pattern)):
                rel = path.relative_to(ROOT).as_posix()
                if path.is_file() and rel not in seen:
                    seen.add(rel)
                    pages.append(rel)
        if pages:
            parts.append((caption, pages))
    return parts, seen


def stage(src):
    """Copy the pages, and all that they link to, into src/ and write the generated folder pages.
    Returns the table of contents: [(caption, [pages])]."""
    parts, pages = select_pages()
    listings = {}  # folder -> its generated page's Markdown
    notebooks = [p for caption, ps in parts if caption == NOTEBOOKS_CAPTION for p in ps]
    if notebooks:
        listings[NOTEBOOKS] = notebook_listing(notebooks)
    todo, copied, extra = [FRONT] + [p for _, ps in parts for p in ps], set(), []
    while todo:
        rel = todo.pop(0)
        if rel in copied:
            continue
        copied.add(rel)
        dest = src / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest)  # keeps the date, so that an unchanged page is not reread
        if not rel.endswith(PAGE_SUFFIXES):
            continue
        if rel not in pages:  # linked from a page, but not one of the site's pages: an extra page
            pages.add(rel)
            extra.append(rel)
        files, folders = linked_paths(rel)
        todo.extend(sorted(files - copied))
        for folder in sorted(folders - set(listings)):
            own = [(Path(folder) / name).as_posix() for name in FOLDER_PAGES if (ROOT / folder / name).is_file()]
            if own:
                todo.append(own[0])
            else:
                names, subfolders = folder_content(folder)
                listings[folder] = folder_listing(folder, names, subfolders)
                todo.extend((Path(folder) / name).as_posix() for name in names)
    for folder, text in listings.items():
        page = f"{folder}/index.md"
        (src / folder).mkdir(parents=True, exist_ok=True)
        (src / page).write_text(text, encoding="utf-8")
        if folder == NOTEBOOKS:
            continue
        extra.append(page)
    # the notebooks part: one chapter, the listing, with the notebooks as its sections
    parts = [(caption, [[f"{NOTEBOOKS}/index.md", ps]] if caption == NOTEBOOKS_CAPTION else ps)
             for caption, ps in parts]
    if extra:
        parts.append((OTHER_CAPTION, extra))
    return parts


def link(text, target):
    return f"[{text}](<{target}>)"


def notebook_listing(notebooks):
    """The page that a link to results/notebooks/ opens: the executed notebooks, listed."""
    lines = ["# Executed notebooks", "",
             "Every notebook as `make all` ran it, one copy per dataset, with all its outputs. The site shows "
             "the stored outputs; nothing was rerun to build it.", ""]
    lines += [f"- {link(title_of(nb), Path(nb).name)}" for nb in notebooks]
    return "\n".join(lines) + "\n"


def folder_listing(folder, names, subfolders):
    """The page that a link to another repository folder opens: its files, as GitHub lists them."""
    lines = [f"# `{folder}/`", "", f"The files of the repository's folder `{folder}/`.", ""]
    for name in names:
        page = f"{folder}/{name}"
        heading = heading_of(page, "") if name.endswith(PAGE_SUFFIXES) else ""
        lines.append(f"- {link(name, name)}" + (f": {heading}" if heading else ""))
    if subfolders:
        lines += ["", "Folders not in the site: " + ", ".join(f"`{s}`" for s in subfolders)]
    return "\n".join(lines) + "\n"


def title_of(page, extra=False):
    """A table-of-contents title where the page's own heading is not enough: an executed notebook
    (one per dataset, all with the notebook's heading) or a notebook linked as its source."""
    path = Path(page)
    if path.suffix != ".ipynb":
        return None
    heading = heading_of(page, path.stem)
    if extra:
        return f"{heading} (source, no outputs)"
    if "--" not in path.stem:
        return heading
    dataset = path.stem.split("--", 1)[1]
    return f"{heading} ({DISPLAY_NAMES.get(dataset, dataset)})"


def docname(page):
    return Path(page).with_suffix("").as_posix()


def toc_entry(page, extra=False):
    if isinstance(page, list):  # a chapter with sections
        return {**toc_entry(page[0], extra), "sections": [toc_entry(p, extra) for p in page[1]]}
    entry = {"file": docname(page)}
    title = title_of(page, extra) if (ROOT / page).is_file() else None
    if title:
        entry["title"] = title
    return entry


def write_config(src, parts):
    """_toc.yml and _config.yml for Jupyter Book (JSON is YAML, and needs no YAML writer)."""
    toc = {"format": "jb-book", "root": docname(FRONT),
           "parts": [{"caption": caption, "chapters": [toc_entry(p, caption == OTHER_CAPTION) for p in pages]}
                     for caption, pages in parts]}
    config = {
        "title": heading_of(FRONT, "The study"),
        "author": "",
        "copyright": "",
        "only_build_toc_files": True,
        "exclude_patterns": ["_build"],
        "execute": {"execute_notebooks": "off"},  # show the stored outputs, never run a notebook
        "parse": {
            "myst_enable_extensions": ["colon_fence", "dollarmath", "amsmath", "linkify", "substitution",
                                       "tasklist", "html_image", "deflist"],
            "myst_url_schemes": ["mailto", "http", "https"],
        },
        "html": {"use_repository_button": False, "use_edit_page_button": False,
                 "use_issues_button": False, "home_page_in_navbar": True},
        "launch_buttons": {"notebook_interface": "jupyterlab", "binderhub_url": "", "thebe": False},
        "sphinx": {
            "local_extensions": {"build_site": str(Path(__file__).resolve().parent)},  # setup() below
            "config": {
                "myst_heading_anchors": 6,  # GitHub's #section-name anchors, which the pages use
                "html_show_copyright": False,
                "html_show_sphinx": False,
                "nb_merge_streams": True,
            },
        },
    }
    for name, content in [("_toc.yml", toc), ("_config.yml", config)]:
        (src / name).write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def build(out=DEFAULT_OUT, quiet=False):
    """Stage the pages into OUT/src and build OUT/_build/html; returns (html folder, builder's output)."""
    out = Path(out).resolve()
    src = out / "src"
    start = time.time()
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    parts = stage(src)
    write_config(src, parts)
    # Sphinx rereads only the pages that changed; when a page or a linked file comes or goes, the
    # links of the unchanged pages may change too, so then everything is rebuilt.
    manifest = "\n".join(sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()))
    previous = out / "_build" / "staged.txt"
    fresh = not previous.is_file() or previous.read_text(encoding="utf-8") != manifest
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(src), "--path-output", str(out),
           "--builder", "html", "--keep-going", *(["--all"] if fresh else [])]
    proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    (out / "build.log").write_text(log, encoding="utf-8")
    warnings = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", log).splitlines() if "WARNING" in line]
    if not quiet or proc.returncode:
        sys.stdout.write(log if proc.returncode else "".join(line + "\n" for line in warnings))
    if proc.returncode:
        sys.exit(f"build_site: jupyter-book failed (exit {proc.returncode}); its output is in {out / 'build.log'}")
    previous.write_text(manifest, encoding="utf-8")
    html = out / "_build" / "html"
    shown = html.relative_to(Path.cwd()) if html.is_relative_to(Path.cwd()) else html
    n_pages = 1 + sum(1 + (len(p[1]) if isinstance(p, list) else 0) for _, ps in parts for p in ps)
    print(f"site: {n_pages} pages, {len(warnings)} warning(s), in {time.time() - start:.0f} s; "
          f"open {shown}/index.html, or serve it: python3 -m http.server -d {shown}")
    return html, log


def resolve_folder_links(app, doctree):
    """Sphinx extension (loaded by the generated config): a Markdown link to a folder, as GitHub
    allows, opens the folder's README.md or (generated) index.md page."""
    from sphinx import addnodes

    env = app.env
    for node in doctree.findall(addnodes.pending_xref):
        if node.get("reftype") != "myst" or node.get("refdomain"):
            continue
        target, _, anchor = node["reftarget"].partition("#")
        if not target:
            continue
        _, folder = env.relfn2path(target, node.get("refdoc", env.docname))
        if not Path(folder).is_dir():
            continue
        for name in FOLDER_PAGES:
            doc = env.path2doc(str(Path(folder) / name))
            if doc in env.found_docs:
                node["refdomain"], node["reftarget"], node["reftargetid"] = "doc", doc, anchor or None
                break


def setup(app):
    app.connect("doctree-read", resolve_folder_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    build(args[0] if args else DEFAULT_OUT, quiet="--quiet" in sys.argv)
