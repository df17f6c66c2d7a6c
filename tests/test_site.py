"""The static website (`make site`, scripts/build_site.py): it builds offline from the pages that
exist, and every internal link and image in its HTML opens a file of the site (and, for a link with
an #anchor, an element of that page). One clean build, shared by the tests of this file."""
import importlib.util
import re
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, data:, javascript: ...
BUILD_LIMIT_S = 120


def load_build_site():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Page(HTMLParser):
    """The links (<a href>), images (<img src>) and element ids of one HTML page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.links, self.ids = [], set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href") is not None:
            self.links.append(("link", attrs["href"]))
        elif tag == "img" and attrs.get("src") is not None:
            self.links.append(("image", attrs["src"]))


def broken_links(html_dir):
    """'page: kind target (why)' for every internal link or image that does not resolve."""
    html_dir = Path(html_dir)
    root = html_dir.resolve()
    pages, problems = {}, []

    def page(path):
        if path not in pages:
            pages[path] = Page(path.read_text(encoding="utf-8", errors="replace"))
        return pages[path]

    for path in sorted(html_dir.rglob("*.html")):
        if "_static" in path.relative_to(html_dir).parts:
            continue
        for kind, target in page(path).links:
            if not target.strip() or target == "#" or EXTERNAL.match(target):
                continue
            parts = urlsplit(target)
            if parts.netloc:  # //host/path
                continue
            dest = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if parts.path.endswith("/") or dest.is_dir():
                dest = dest / "index.html"
            where = f"{path.relative_to(html_dir)}: {kind} {target}"
            if not dest.is_file():
                shown = dest.relative_to(root) if dest.is_relative_to(root) else dest
                problems.append(f"{where} (no file {shown})")
            elif kind == "link" and parts.fragment and dest.suffix == ".html":
                if unquote(parts.fragment) not in page(dest).ids:
                    why = f"no id '{unquote(parts.fragment)}' in {dest.name}"
                    if not parts.path and re.search(r"[./]", parts.fragment):  # how MyST writes a dead link
                        why += f"; the builder found no page or file '{unquote(parts.fragment)}'"
                    problems.append(f"{where} ({why})")
    return problems


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    build_site = load_build_site()
    out = tmp_path_factory.mktemp("site")
    start = time.time()
    html, log = build_site.build(out, quiet=True)
    return html, log, time.time() - start


def test_site_builds_every_page_without_running_a_notebook(site):
    html, log, seconds = site
    assert seconds < BUILD_LIMIT_S, f"the site took {seconds:.0f} s to build (limit {BUILD_LIMIT_S} s)"
    assert (html / "index.html").is_file() and (html / "README.html").is_file()
    for rel in ["results/FINDINGS.md", "results/README.md", "CHANGELOG.md", *
                [p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")]]:
        if (ROOT / rel).is_file():
            assert (html / rel).with_suffix(".html").is_file(), f"{rel} has no page in the site"
    notebooks = sorted((ROOT / "results" / "notebooks").glob("*.ipynb"))
    for nb in notebooks:
        assert (html / "results" / "notebooks" / f"{nb.stem}.html").is_file(), f"{nb.name} has no page"
    if notebooks:  # the stored figures are rendered as images
        assert any((html / "_images").glob("*.png")), "no notebook output image in the site"
    assert "execution_mode='off'" in log and "Executing" not in log, "the build may execute notebooks"


def test_every_internal_link_and_image_resolves(site):
    html, log, _ = site
    problems = broken_links(html)
    warnings = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", log).splitlines()
                if "WARNING" in line and ("xref" in line or "image" in line or "not found" in line)]
    assert not problems, ("broken links in the site:\n  " + "\n  ".join(problems)
                          + ("\nthe builder's warnings:\n  " + "\n  ".join(warnings) if warnings else ""))


def test_the_link_check_finds_what_is_broken(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.html").write_text('<h1 id="top">b</h1><img src="../fig.png">')
    (tmp_path / "fig.png").write_bytes(b"")
    (tmp_path / "a.html").write_text(
        '<a href="sub/b.html#top">ok</a><a href="https://example.org/x">external</a><a href="#">top</a>'
        '<a href="#here" id="here">self</a><a href="mailto:x@y">mail</a>'
        '<a href="sub/missing.html">1</a><a href="sub/b.html#nowhere">2</a><img src="gone.png">'
        '<a href="#docs/protocol.md">3</a>')
    assert broken_links(tmp_path) == [
        "a.html: link sub/missing.html (no file sub/missing.html)",
        "a.html: link sub/b.html#nowhere (no id 'nowhere' in b.html)",
        "a.html: image gone.png (no file gone.png)",
        "a.html: link #docs/protocol.md (no id 'docs/protocol.md' in a.html; "
        "the builder found no page or file 'docs/protocol.md')",
    ]
