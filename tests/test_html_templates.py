"""One way to write HTML: every page comes from a template of `reports/templates/`, rendered by the
one environment of `reports.pages` (autoescape on, every value made text by `reports.safe`).

Checked three ways: no module under src/ spells an HTML tag in a Python string (or imports Jinja
or markupsafe but `reports.pages`), every page template extends `base.html.j2` and the environment
escapes, and a finding full of markup renders as text on its error page.
"""

from __future__ import annotations

import ast
import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from khuyencong.findings import finding
from khuyencong.model import FileCheck
from khuyencong.reports import pages
from khuyencong.reports.submission_reports import write_file_reports

SRC = Path(__file__).resolve().parents[1] / "src"
TEMPLATES = pages.TEMPLATES
HTML_TAG = re.compile(
    r"<\s*/?\s*(?:!doctype|html|head|body|title|meta|link|style|script|table|thead|tbody|tfoot|tr|td|th|p|a|"
    r"div|span|ul|ol|li|b|i|em|strong|code|pre|br|hr|img|svg|h[1-6]|form|input|iframe|main|nav|header|"
    r"footer|section|figure|figcaption)\b", re.IGNORECASE)
SCRIPT = "<script>alert('kc-xss')</script>"
IMG = "\"><img src=x onerror=alert('kc-xss')>"


def _python_strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every str constant of a module (f-string parts included) but its docstrings."""
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_module_builds_html_in_python_strings():
    found = [f"{path.relative_to(SRC)}:{line}: {text[:60]!r}"
             for path in _modules()
             for line, text in _python_strings(ast.parse(path.read_text(encoding="utf-8")))
             if HTML_TAG.search(text)]
    assert found == [], "HTML belongs in a template of reports/templates/:\n" + "\n".join(found)


def test_only_reports_pages_renders_templates():
    users = set()
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("jinja2", "markupsafe") for n in names):
                users.add(path.relative_to(SRC).as_posix())
    assert users == {"khuyencong/reports/pages.py"}


def test_the_environment_escapes_and_every_page_extends_base():
    env = pages.environment()
    assert env.autoescape is True and env.finalize is pages._as_text
    assert env.from_string("{{ v }}|{{ n }}|{{ v ~ '' }}").render(v="<b>'&", n=None) == \
        "&lt;b&gt;&#x27;&amp;||&lt;b&gt;&#x27;&amp;"  # None shows as nothing; `~` is escaped the same way

    def source(name: str) -> str:
        return (TEMPLATES / name).read_text(encoding="utf-8")

    def extends(name: str) -> str | None:
        match = re.search(r'{%\s*extends\s+"([^"]+)"\s*%}', source(name))
        return match and match[1]

    # a page is a template no other one extends, includes or imports
    names = {p.name for p in TEMPLATES.glob("*.j2")}
    used = {ref for name in names for ref in re.findall(r'{%\s*(?:extends|include|import|from)\s+"([^"]+)"', source(name))}
    page_templates = names - used
    assert {"submission.html.j2", "index.html.j2", "refused.html.j2"} <= page_templates
    for name in page_templates:
        chain = [name]
        while (parent := extends(chain[-1])) is not None:
            chain.append(parent)
        assert chain[-1] == "base.html.j2", chain


class _Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("hostile", [SCRIPT, IMG])
def test_a_finding_holding_markup_renders_as_text(tmp_path, hostile):
    raw = tmp_path / "raw"
    check = FileCheck(raw / "2024-07-10" / f"Bao cao {hostile}.xlsx", "ab" * 32, date(2024, 7, 10), None, [
        finding("F05", f"Giá trị {hostile}", f"Value {hostile}", sheet=hostile, row=3, column=hostile,
                value=hostile, expected=hostile),
        finding("W06", hostile, hostile),
    ])
    text = write_file_reports(check, tmp_path / "submissions", raw).read_text(encoding="utf-8")
    page = _Page(text)
    assert {tag for tag, _ in page.tags} <= {
        "html", "head", "meta", "title", "style", "body", "p", "code", "ul", "li", "b", "table", "thead", "tbody",
        "tr", "th", "td", "br"}
    assert not [attrs for _, attrs in page.tags for name, value in attrs
                if name.startswith("on") or "kc-xss" in (value or "")]
    assert "<script" not in text and "<img" not in text
    shown = "".join(page.text)
    # the name in the title and the header; F05: sheet, column, value, expected, both messages; W06: both messages
    assert shown.count(hostile) == 10
    assert "Content-Security-Policy" in text  # the shared head: no request leaves the page
