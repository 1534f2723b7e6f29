"""Check the built documentation site in a real browser: headless Chromium (Debian's
``chromium``, installed by ``make deps``).

What it checks, on the pages it opens (``architecture.html`` and the reference pages by
default) as Chromium renders them (``--dump-dom``, scripts run):

- the furo theme is there: its stylesheet, its sidebar drawer, and the ``data-theme``
  its script sets on ``<body>`` once it has run;
- the architecture page's import graph is an SVG that exists and that Chromium reads as
  an SVG (not an error page), with a node for every Salt-facing and core file of the
  checkout (``_states/*.py``, ``_modules/*.py``, ``_beacons/*.py``, ``_engines/*.py``,
  ``_utils/lxdapi*.py``), and whose links lead to pages and anchors that exist;
- no link, image or object of a page points at a local file that is missing (every page
  of the site is read for that, the opened ones as Chromium has them).

``--screenshot FILE`` also saves a picture of the architecture page (1280x2000), to look
at. Exits 1, naming each problem, when something fails.

Usage: ``python tools/docs_check.py [--screenshot FILE] HTML_DIR [PAGE ...]``
"""

import argparse
import glob
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PAGES = (
    "architecture.html",
    "index.html",
    "reference/core.html",
    "reference/modules.html",
    "reference/states.html",
    "reference/beacon.html",
    "reference/engine.html",
)
GRAPH_CLASS = "lxdapi-import-graph"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_binary():
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("docs_check: chromium is not installed (make deps installs it)")


def chromium(url, *extra, timeout=120):
    """Run headless Chromium on ``url`` with a profile of its own; its stdout."""
    profile = tempfile.mkdtemp(prefix="lxdapi-docs-chromium-")
    try:
        done = subprocess.run(
            [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if done.returncode != 0:
        raise SystemExit(
            f"docs_check: chromium failed on {url} ({done.returncode}): {done.stderr[-2000:]}"
        )
    return done.stdout


def file_url(path):
    return "file://" + urllib.parse.quote(os.path.abspath(path))


class Page(html.parser.HTMLParser):
    """The tags, classes, ids and local links of an HTML document."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.classes = set()
        self.ids = set()
        self.links = []  # (tag, attribute, value)
        self.objects = []  # attributes of each <object>
        self.body = {}
        self.stylesheets = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.classes.update((attrs.get("class") or "").split())
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "body":
            self.body = attrs
        if tag == "object":
            self.objects.append(attrs)
        if tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
            self.stylesheets.append(attrs.get("href") or "")
        for attribute in ("href", "src", "data"):
            if attrs.get(attribute):
                self.links.append((tag, attribute, attrs[attribute]))


def local_target(page_path, link):
    """``(file, fragment)`` a link of the page at ``page_path`` points at, or None for a
    link that leaves the site (http:, mailto:...) or stays on the page (``#id``)."""
    parts = urllib.parse.urlsplit(link)
    if parts.scheme or parts.netloc or link.startswith("//"):
        return None
    if not parts.path:
        return None
    path = urllib.parse.unquote(parts.path)
    target = os.path.normpath(os.path.join(os.path.dirname(page_path), path))
    return target, parts.fragment


def missing_files(page_path, page):
    problems = []
    for tag, attribute, link in page.links:
        target = local_target(page_path, link)
        if target and not os.path.exists(target[0]):
            problems.append(f"<{tag} {attribute}={link!r}>: {target[0]} does not exist")
    return problems


def repo_files():
    """The names of the files the import graph must show, by glob (``_modules/x.py`` is
    ``x.py``)."""
    names = set()
    for pattern in (
        "_states/*.py",
        "_modules/*.py",
        "_beacons/*.py",
        "_engines/*.py",
        "_utils/lxdapi*.py",
    ):
        names.update(
            os.path.basename(p)
            for p in glob.glob(os.path.join(ROOT, pattern))
            if not p.endswith("__init__.py")
        )
    return names


def check_graph(page_path, page, ids_of):
    """The import graph of ``page``: its SVG exists, is read by Chromium as an SVG, shows
    every file, and its links lead somewhere."""
    problems = []
    shown = set()
    graphs = [o for o in page.objects if GRAPH_CLASS in (o.get("class") or "").split()]
    if not graphs:
        return [f"{page_path}: no <object class={GRAPH_CLASS!r}> (the import graph)"]
    for graph in graphs:
        data = graph.get("data") or ""
        target = local_target(page_path, data)
        if not data.endswith(".svg") or not target or not os.path.isfile(target[0]):
            problems.append(f"{page_path}: the graph's object points at {data!r}, no SVG file")
            continue
        svg_path = target[0]
        rendered = chromium(file_url(svg_path), "--dump-dom")
        # The root element, whatever prefix its namespace has (Sphinx rewrites the file
        # with ElementTree, which writes ns0:svg); an XML error is a page of its own.
        if not re.match(r"\s*<(\w+:)?svg[\s>]", rendered) or "parsererror" in rendered:
            problems.append(f"{svg_path}: Chromium does not read it as an SVG")
        root = ET.parse(svg_path).getroot()
        texts = {"".join(t.itertext()).strip() for t in root.iter(SVG + "text")}
        if len(texts & repo_files()) < 5:
            problems.append(f"{svg_path}: fewer than 5 files' names in it")
        shown |= texts
        links = 0
        for anchor in root.iter(SVG + "a"):
            href = anchor.get(XLINK_HREF) or anchor.get("href")
            if not href:
                continue
            links += 1
            where = local_target(svg_path, href)
            if where is None:
                continue
            path, fragment = where
            if not os.path.isfile(path):
                problems.append(f"{svg_path}: link {href!r}: {path} does not exist")
            elif fragment and fragment not in ids_of(path):
                problems.append(f"{svg_path}: link {href!r}: no id {fragment!r} in {path}")
        if not links:
            problems.append(f"{svg_path}: no node links to its reference")
    missing = sorted(repo_files() - shown)
    if missing:
        problems.append(f"{page_path}: no graph has a node for {', '.join(missing)}")
    return problems


def check(html_dir, pages, screenshot=None):
    html_dir = os.path.abspath(html_dir)
    problems = []
    cache = {}

    def ids_of(path):
        if path not in cache:
            with open(path, encoding="utf-8") as fh:
                cache[path] = Page(fh.read()).ids
        return cache[path]

    opened = set()
    for name in pages:
        path = os.path.join(html_dir, name)
        if not os.path.isfile(path):
            problems.append(f"{name}: not built")
            continue
        opened.add(path)
        page = Page(chromium(file_url(path), "--dump-dom"))
        if not any("furo" in href for href in page.stylesheets):
            problems.append(f"{name}: furo's stylesheet is not linked")
        if not {"sidebar-drawer", "page"} <= page.classes:
            problems.append(f"{name}: no furo layout (sidebar-drawer, page)")
        if "data-theme" not in page.body:
            problems.append(f"{name}: furo's script did not run (no data-theme on <body>)")
        problems += missing_files(path, page)
        if name == "architecture.html":
            problems += check_graph(path, page, ids_of)
    for path in sorted(glob.glob(os.path.join(html_dir, "**", "*.html"), recursive=True)):
        if path not in opened:
            with open(path, encoding="utf-8") as fh:
                problems += missing_files(path, Page(fh.read()))
    if screenshot:
        chromium(
            file_url(os.path.join(html_dir, "architecture.html")),
            f"--screenshot={os.path.abspath(screenshot)}",
            "--window-size=1280,2000",
            "--hide-scrollbars",
        )
        if not os.path.isfile(screenshot):
            problems.append(f"no screenshot written to {screenshot}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir")
    parser.add_argument("pages", nargs="*", default=DEFAULT_PAGES)
    parser.add_argument("--screenshot", help="a PNG of the architecture page")
    args = parser.parse_args(argv)
    problems = check(args.html_dir, args.pages, args.screenshot)
    for problem in problems:
        print(f"docs_check: {problem}")
    if problems:
        return 1
    pages = len(glob.glob(os.path.join(args.html_dir, "**", "*.html"), recursive=True))
    print(
        f"docs_check: furo and the import graph render in Chromium "
        f"({len(args.pages)} pages opened, {pages} pages' links checked)"
        + (f"; screenshot {args.screenshot}" if args.screenshot else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
