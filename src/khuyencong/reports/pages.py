"""The one way the product writes HTML: the Jinja templates of `templates/`, through one environment.

Every page (the per-file error pages, the conference site) extends `base.html.j2`: the offline
head (a Content-Security-Policy that forbids every request) and the one stylesheet. Every
`{{ value }}` of every page is made text by `reports.safe.html_text` (control characters
replaced, `<>&"'` escaped), and autoescape is on, so whatever a template builds from strings is
escaped too. No module builds HTML in Python strings (tests/test_html_templates.py checks it).
Also here: numbers and dates the Vietnamese way, the filters the pages use.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from khuyencong.normalise import format_vn_number
from khuyencong.reports.safe import html_text

TEMPLATES = Path(__file__).with_name("templates")


# ---------------------------------------------------------------- numbers, the Vietnamese way


def vn_number(value, places: int = 0) -> str:
    """123370 -> `123.370`, 97.02 -> `97,02` (rounded half up); None -> an en dash."""
    if value is None:
        return "–"
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if not rounded:
        rounded = abs(rounded)  # no `-0`
    return format_vn_number(rounded, keep_trailing_zeros=True)


def vn_pct(value) -> str:
    return "–" if value is None else vn_number(value, 2) + "%"


def vn_growth(value) -> str:
    return "–" if value is None else ("+" if value > 0 else "") + vn_pct(value)


def vn_date(value: date | None) -> str:
    return "–" if value is None else value.strftime("%d/%m/%Y")


# ---------------------------------------------------------------- the environment


def _as_text(value):
    """Every `{{ value }}` passes here: text by the rule of `reports.safe` (None shows as nothing).

    Markup (a macro's output, already rendered here) passes as it is.
    """
    from markupsafe import Markup

    return value if isinstance(value, Markup) else Markup(html_text(value))


@cache
def environment():
    """The Jinja environment of every page, built once per process (its templates compile once)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,  # `.html.j2` is not caught by select_autoescape: every value is escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_as_text,
    )
    env.filters.update(money=vn_number, pct=vn_pct, growth=vn_growth, vndate=vn_date, count=vn_number)
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def write_page(path: Path, template: str, **context) -> Path:
    path.write_text(render(template, **context), encoding="utf-8")
    return path
