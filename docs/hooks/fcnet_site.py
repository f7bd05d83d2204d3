"""MkDocs hook of fcnet's site: serve MathJax from the site itself, and set up the build.

* MathJax 3 comes from a Python package (``django-static-mathjax``, which ships the MathJax
  distribution as plain files and needs nothing else): the files the pages use are added to the
  build under ``assets/mathjax/``, so the site renders its formulas offline.
* ``docs/hooks`` goes on ``sys.path`` so that the pages' build-time blocks can import
  :mod:`worked` (the helpers that turn fcnet's arrays into LaTeX and figures into SVG).
* matplotlib draws with Agg (no display).
* The API pages: fcnet's docstrings are numpydoc, with a few reStructuredText habits that
  Markdown shows as they are; the Sphinx roles before a name (``:func:`fit```) are dropped, a
  name written ``~a.b.c`` shows as ``c`` (as Sphinx shows it), and the ``::`` that introduces a
  literal block reads as ``:``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# What the pages need of MathJax's es5 folder: the TeX-to-CommonHTML component, its fonts, the
# TeX extensions it loads on demand, and the accessibility and menu parts its menu can load.
MATHJAX_PARTS = (
    "tex-chtml.js",
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions",
    "a11y",
    "ui",
    "sre",
)
MATHJAX_PREFIX = "assets/mathjax"


def mathjax_root() -> Path:
    """The es5 folder of the MathJax distribution installed with the ``docs`` extra."""
    try:
        import mathjax  # the django-static-mathjax package: MathJax's files, no code
    except ImportError as exc:
        raise RuntimeError(
            "fcnet's site needs MathJax from the 'docs' extra: pip install -e '.[docs]'."
        ) from exc
    root = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    if not (root / "tex-chtml.js").is_file():
        raise RuntimeError(f"MathJax's tex-chtml.js is not under {root}.")
    return root


def on_config(config: Any) -> Any:
    """Put docs/hooks on sys.path and make matplotlib draw without a display."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    os.environ["MPLBACKEND"] = "Agg"
    return config


def on_files(files: Any, config: Any) -> Any:
    """Add MathJax's files to the site, as if they were pages' assets in docs/."""
    from mkdocs.structure.files import File

    root = mathjax_root()
    for part in MATHJAX_PARTS:
        path = root / part
        paths = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for source in paths:
            if source.suffix == ".map":
                continue
            uri = f"{MATHJAX_PREFIX}/{source.relative_to(root).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(source)))
    return files


_SPHINX_ROLE = re.compile(r":(?:func|meth|class|mod|data|attr|obj|exc):(?=<code)")
_SPHINX_SHORT = re.compile(r"<code>~(?:[\w]+\.)*([\w]+)</code>")  # ~a.b.c shows as c
_LITERAL_MARK = re.compile(r"::(?=</p>)")


def on_page_content(html: str, page: Any, config: Any, files: Any) -> str:
    """Tidy what reStructuredText habits of the docstrings leave in the API pages."""
    if not page.file.src_uri.startswith("api/"):
        return html
    html = _SPHINX_SHORT.sub(r"<code>\1</code>", _SPHINX_ROLE.sub("", html))
    return _LITERAL_MARK.sub(":", html)
