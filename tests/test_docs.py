"""The documentation: its code runs as written, and the site builds strictly and works offline.

Every ```python block of docs/**/*.md runs, page by page, in a temporary folder, in the order of
the page. Blocks that share a ``session="..."`` (markdown-exec's option for the blocks it runs
while the site is built) share their variables, as they do in the build; a block without one
runs on its own. A block preceded by the line ``<!-- docs-test: skip -->`` is left out.

The site test builds it with ``mkdocs build --strict`` (no warning of any kind: broken links,
missing anchors, a failing build-time block, a docstring griffe cannot parse) and checks that
no page loads a script, style sheet, font or image from outside the site.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SKIP = "<!-- docs-test: skip -->"
FENCE = re.compile(r"^(?P<indent>[ ]*)(?P<fence>`{3,})(?P<info>[^`]*)$")
OPTION = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # of the opening fence, 1-based
    language: str
    options: dict[str, str]
    code: str
    skip: bool


def blocks_of(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, nested ones (in admonitions) included."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        info = opening["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence) and set(stripped) == {"`"}:
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        else:
            raise AssertionError(f"{page}:{i + 1}: the code block is never closed")
        language = info.split()[0] if info else ""
        skip = i > 0 and lines[i - 1].strip() == SKIP
        blocks.append(
            Block(page, i + 1, language, dict(OPTION.findall(info)), "\n".join(body), skip)
        )
        i = j + 1
    return blocks


PAGES = sorted(p for p in DOCS.rglob("*.md") if "hooks" not in p.parts)
PYTHON_PAGES = [p for p in PAGES if any(b.language == "python" for b in blocks_of(p))]


def test_the_docs_have_code_to_run() -> None:
    blocks = [b for p in PAGES for b in blocks_of(p) if b.language == "python"]
    assert len(blocks) >= 40, len(blocks)
    built = [b for b in blocks if b.options.get("exec") == "on"]
    assert len(built) >= 30, len(built)  # the numbers of the math pages, computed at build


def test_the_block_reader(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "text\n\n```python\nx = 1\n```\n\n<!-- docs-test: skip -->\n```python\nboom\n```\n\n"
        '!!! note\n    ```python exec="on" session="s"\n    y = 2\n    ```\n\n````sh\nls\n````\n'
    )
    blocks = blocks_of(page)
    assert [(b.language, b.skip, b.code) for b in blocks] == [
        ("python", False, "x = 1"),
        ("python", True, "boom"),
        ("python", False, "y = 2"),
        ("sh", False, "ls"),
    ]
    assert blocks[2].options == {"exec": "on", "session": "s"}


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_code_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(DOCS / "hooks"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    sessions: dict[str, dict[str, object]] = {}
    try:
        for block in blocks_of(page):
            if block.language != "python" or block.skip:
                continue
            name = block.options.get("session")
            namespace = sessions.setdefault(name, {}) if name else {}
            namespace.setdefault("__name__", f"docs_{page.stem.replace('-', '_')}")
            where = f"{page.relative_to(ROOT)}:{block.line}"
            try:
                exec(compile(block.code, where, "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"the code block at {where} failed: {exc!r}") from exc
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")


# ``make docs`` (and so ``make test``) writes this file into site/ after a strict build.
STAMP = ".strict-build"


def _fresh_strict_build(site: Path) -> bool:
    """Whether site/ holds a strict build newer than every file it was built from."""
    stamp = site / STAMP
    if not stamp.is_file():
        return False
    sources = [ROOT / "mkdocs.yml", *DOCS.rglob("*"), *(ROOT / "src").rglob("*")]
    newest = max(
        p.stat().st_mtime
        for p in sources
        if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p)
    )
    return stamp.stat().st_mtime > newest


def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built with ``mkdocs build --strict``: the one ``make docs`` left in site/ when
    it is newer than its sources, otherwise built once per test session."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    pytest.importorskip("markdown_exec")
    if _fresh_strict_build(ROOT / "site"):
        return ROOT / "site"
    out = tmp_path_factory.getbasetemp() / "fcnet-site"
    if not (out / "index.html").is_file():
        command = [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
        ]  # --quiet would hide the warnings
        build = subprocess.run(
            [*command, "--site-dir", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        )
        assert build.returncode == 0, build.stdout + build.stderr
    return out


# What a page would load from elsewhere: scripts, style sheets, icons, images, frames, and in a
# style sheet, url(...) and @import.
REMOTE_IN_HTML = re.compile(
    r"<(?:script|img|iframe|source|audio|video)\b[^>]*\ssrc=[\"']?(?:https?:)?//"
    r"|<link\b[^>]*\shref=[\"']?(?:https?:)?//",
    re.IGNORECASE,
)
REMOTE_IN_CSS = re.compile(r"url\(\s*[\"']?(?:https?:)?//|@import\s+[\"']?(?:url\()?(?:https?:)?//")


def test_site_builds_strictly_and_works_offline(tmp_path_factory: pytest.TempPathFactory) -> None:
    site = built_site(tmp_path_factory)
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= 20
    for html in pages:
        text = html.read_text(encoding="utf-8")
        match = REMOTE_IN_HTML.search(text)
        assert match is None, f"{html.relative_to(site)} loads {match.group(0)!r}"
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text
    for css in site.rglob("*.css"):
        match = REMOTE_IN_CSS.search(css.read_text(encoding="utf-8", errors="replace"))
        assert match is None, f"{css.relative_to(site)}: {match.group(0)!r}"
    # the formulas are typeset by MathJax served from the site itself, with its fonts
    dense = (site / "math" / "dense" / "index.html").read_text(encoding="utf-8")
    assert 'src="../../assets/mathjax/tex-chtml.js"' in dense
    assert (site / "assets" / "mathjax" / "tex-chtml.js").stat().st_size > 500_000
    assert list((site / "assets" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))


def test_site_shows_numbers_computed_by_fcnet(tmp_path_factory: pytest.TempPathFactory) -> None:
    site = built_site(tmp_path_factory)
    dense = (site / "math" / "dense" / "index.html").read_text(encoding="utf-8")
    # the worked example of `fcnet explain`, as the build computed it
    assert "0.18365" in dense and "0.1452" in dense and "-0.002" in dense
    assert "fcnet explain" in dense and "central difference" in dense
    assert 'class="fcnet-figure"' in (site / "math" / "activations" / "index.html").read_text()
    cli = (site / "reference" / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("train", "evaluate", "predict", "gradcheck", "explain"):
        assert f'id="fcnet-{command}"' in cli, command
    assert "--batch-size" in cli and "EXIT_DIVERGED" in cli
    for page in site.rglob("*.html"):  # a build-time block that failed leaves a traceback
        assert "Traceback (most recent call last)" not in page.read_text(encoding="utf-8"), page


def test_site_shows_the_engine_and_the_tutorials_of_the_new_modules(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    site = built_site(tmp_path_factory)

    def page(path: str) -> str:
        return (site / path / "index.html").read_text(encoding="utf-8")

    # the step is quoted from fcnet/train/loop.py at build time, and its work counted
    engine = page("engine")
    assert "_step" in engine and "self.reduce" in engine and "self.guard.check" in engine
    assert "Every step asks for 8 matrix products" in engine
    assert "RuntimeError:" in engine or "trained on CupyOps" in engine
    assert "fcnet[gpu]" in engine
    # Embedding itself, unconditionally: its gradient check, and why check_input=False
    embedding = page("math/embedding")
    assert "check_input=False" in embedding and "0.E0" in embedding
    assert "expected an integer code in [0, 4)" in embedding
    assert "once the layer is part of" not in embedding
    sklearn = page("tutorials/sklearn")
    assert "GridSearchCV" in sklearn and "accuracy per fold" in sklearn and "PASSED" in sklearn
    export = page("tutorials/export")
    assert "same labels as predict: True" in export
    assert "same probabilities as the file written by to_onnx: True" in export
    assert "wine-cli.onnx: ONNX opset 17" in export  # what `fcnet export` printed
    tables = page("tutorials/tables")
    assert "categories not seen in training" in tables and "same probabilities: True" in tables
    assert "network embedding (1 column: 61 codes" in tables
    # the API of the new modules, from their docstrings
    for path, names in {
        "api/sklearn": ["fcnet.sklearn.MLPClassifier", "fcnet.sklearn.MLPRegressor"],
        "api/interop": ["fcnet.interop.onnx_export.to_onnx", "fcnet.interop.pytorch.from_torch"],
        "api/preprocessing": ["fcnet.preprocessing.TabularEncoder"],
        "api/models": ["fcnet.Embedding", "fcnet.Embedding.from_encoder"],
        "api/io": ["fcnet.set_device"],
    }.items():
        html = page(path)
        for name in names:
            assert f'id="{name}"' in html, (path, name)
