"""The playbook (its one JSON form, sos/playbook.py) as a Markdown tree for a wiki, or one HTML page.

Both come from jinja2 templates in sos/render/playbook/. A consultant overrides any of them for a client by
putting a file of the same name in a templates folder (`sos docs --templates DIR`); the others stay sos's own.
The HTML page loads nothing: its style is inline and pinned by a Content-Security-Policy, and everything the
blueprint says is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from sos.render.audit_html import csp_hash

TEMPLATES = Path(__file__).parent / "playbook"
# The Markdown tree: the index, then one page per pipeline; the other pages only when they have something to say.
INDEX = "README.md"
PAGES = {"rules": "rules", "leads": "lead_statuses routes", "automation": "cadences handoffs"}


# What Markdown would read as markup in a label or a message: emphasis, code, links, headings, tables, raw HTML.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&])")


def environment(overrides: Path | None, fmt: str) -> jinja2.Environment:
    """Templates from `overrides` first, then sos's own; what the blueprint says escaped for `fmt` (markdown or
    html), a missing value an error."""
    folders = [overrides, TEMPLATES] if overrides is not None else [TEMPLATES]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folders), undefined=jinja2.StrictUndefined,
                             autoescape=fmt == "html", finalize=markdown_text if fmt == "markdown" else None,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(page=page_name, anchor=anchor, cell=cell)
    return env


def render_markdown(view: Mapping[str, Any], env: jinja2.Environment) -> dict[str, str]:
    """The playbook as Markdown pages, by file name; every link between them is relative."""
    pages = {INDEX: env.get_template("README.md.j2").render(playbook=view)}
    for pipeline in view["pipelines"]:
        pages[page_name(pipeline)] = env.get_template("pipeline.md.j2").render(playbook=view, pipeline=pipeline)
    for name, keys in PAGES.items():
        if any(view[key] for key in keys.split()):
            pages[page_name(name)] = env.get_template(f"{name}.md.j2").render(playbook=view)
    return pages


def stale_pages(folder: Path, pages: Mapping[str, str]) -> list[Path]:
    """The Markdown pages sos docs wrote into `folder` before that this run does not write (a pipeline, the rules, the
    leads or the automation the blueprint no longer has), so the wiki keeps no page of a process that is gone."""
    names = [page_name(name) for name in PAGES] + [path.name for path in folder.glob("pipeline-*.md")]
    return [folder / name for name in names if name not in pages and (folder / name).is_file()]


def render_html(view: Mapping[str, Any], env: jinja2.Environment) -> str:
    """The playbook as one HTML page that loads nothing."""
    assert env.loader is not None
    style = env.loader.get_source(env, "playbook.css")[0]     # a client's own style first, as for the templates
    return env.get_template("playbook.html.j2").render(playbook=view, style=style, style_hash=csp_hash(style))


def markdown_text(value: object) -> object:
    """A value printed into a Markdown page, its special characters escaped so it reads as written; a link target
    (Markup, from the `page` and `anchor` filters) as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return MARKDOWN_SPECIAL.sub(r"\\\1", value)
    return value


def page_name(item: Mapping[str, Any] | str) -> Markup:
    """The Markdown file of a pipeline (its view) or of another page (its name)."""
    return Markup(f"pipeline-{item['key']}.md" if not isinstance(item, str) else f"{item}.md")


def anchor(heading: str) -> Markup:
    """The fragment GitHub and most wikis give a Markdown heading: lower case, punctuation dropped, spaces → -."""
    return Markup(re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-"))


def cell(text: str) -> str:
    """`text` on one line, for a Markdown table cell (its `|` escaped with the rest)."""
    return text.replace("\n", " ")
