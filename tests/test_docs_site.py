"""The documentation site: its address is defined once, its pages and figures exist, and
(where mkdocs is installed: the docs extra) it builds with no warning."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from detaug._urls import DOCS_URL, docs_page

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = (ROOT / "mkdocs.yml").read_text()


def test_site_url_is_docs_url():
    assert re.search(r"^site_url: (\S+)$", MKDOCS, re.M).group(1).rstrip("/") == DOCS_URL
    assert docs_page("training") == DOCS_URL + "/training/"


def test_every_page_named_by_the_code_and_the_nav_exists():
    named = set()
    for path in (ROOT / "detaug").rglob("*.py"):
        named |= set(re.findall(r"docs_page\(\"([\w/-]+)\"\)", path.read_text()))
    for name in named:
        assert (ROOT / "docs" / f"{name}.md").is_file(), name
    for page in re.findall(r":\s([\w/.-]+\.md)$", MKDOCS, re.M):
        assert (ROOT / "docs" / page).is_file(), page


def test_every_gallery_figure_is_committed_and_shown():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from make_gallery import FIGURES
    finally:
        sys.path.pop(0)
    gallery = (ROOT / "docs" / "gallery.md").read_text()
    for name in FIGURES:
        assert (ROOT / "docs" / "images" / "gallery" / f"{name}.png").is_file(), name
        assert f"images/gallery/{name}.png" in gallery, name


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed (the docs extra)")
def test_site_builds_strict(tmp_path):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "site" / "integrations" / "ultralytics" / "index.html").is_file()
