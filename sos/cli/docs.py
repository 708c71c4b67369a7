"""sos docs: the client's sales playbook, written from the resolved blueprint."""

from __future__ import annotations

import traceback
from pathlib import Path

import click

from sos.blueprint.load import load_blueprint
from sos.cli.options import locate_blueprint
from sos.errors import Diagnostic, SosError, Span
from sos.plan.planfile import write_output

# Where a client repository keeps its own playbook templates (used when --templates is not given).
CLIENT_TEMPLATES = Path("templates") / "playbook"


@click.command("docs", epilog="""\b
Examples:
  sos docs                                  # Markdown pages in playbook/, to drop into the client's wiki
  sos docs --format html --out site         # one self-contained page: site/playbook.html
  sos docs --templates my-templates         # your own templates first (same names as sos's), sos's for the rest

\b
The playbook is what a new rep reads: each pipeline's stages in order (probability, forecast
category, time limit, the fields to fill in to enter and to leave each, with their help texts), the
rules in plain words with their messages, lead statuses, who gets which lead, and what happens
automatically. It is written from the blueprint alone; no CRM is asked.
A client repository's templates/playbook/ folder, when it exists, overrides sos's templates by name:
README.md.j2, pipeline.md.j2, _stage.md.j2, rules.md.j2, leads.md.j2, automation.md.j2, playbook.html.j2,
and the HTML page's style, playbook.css.
""")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["markdown", "html"]), default="markdown", show_default=True,
              help="markdown: a page per pipeline plus an index, for a wiki; html: one page that loads nothing.")
@click.option("-o", "--out", type=click.Path(path_type=Path, file_okay=False), default=Path("playbook"),
              show_default=True, help="The folder to write into (made when missing; the pages in it are replaced, "
                                      "and a page of a pipeline or section the blueprint no longer has is removed).")
@click.option("--templates", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR",
              help="Templates that override sos's own by file name [default: templates/playbook/ when it exists].")
def command(path: Path | None, fmt: str, out: Path, templates: Path | None) -> int:
    """Write the client's sales playbook (Markdown for a wiki, or one HTML page) from the blueprint."""
    import jinja2   # here, not above: `sos validate` loads no template engine

    from sos.playbook import playbook
    from sos.render.playbook import environment, render_html, render_markdown, stale_pages

    blueprint_path, project = locate_blueprint(path)
    blueprint, diagnostics = load_blueprint(blueprint_path, project.blueprint_folders if project else ())
    if blueprint is None:
        raise SosError(diagnostics)
    if templates is None and project is not None and (project.root / CLIENT_TEMPLATES).is_dir():
        templates = project.root / CLIENT_TEMPLATES
    view = playbook(blueprint)
    env = environment(templates, fmt)
    try:
        pages = render_markdown(view, env) if fmt == "markdown" else {"playbook.html": render_html(view, env)}
    except jinja2.TemplateSyntaxError as exc:
        raise SosError(Diagnostic(Span(exc.filename or exc.name or "template", exc.lineno, 1), exc.message or "",
                                  "template-error", fix="correct the template", quote=False)) from None
    except jinja2.UndefinedError as exc:
        raise SosError(Diagnostic(_template_line(exc), str(exc.message), "template-error",
                                  why="the playbook's data has no such value",
                                  fix="use the names sos's own templates use (see `sos docs --help`)",
                                  quote=False)) from None
    except Exception as exc:    # a template's own mistake: a missing include, a filter given the wrong value, 1/0
        raise SosError(Diagnostic(_template_line(exc), f"the template failed: {exc}", "template-error",
                                  fix="correct the template", quote=False)) from None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SosError(f"cannot make the folder {out}: {exc.strerror}", "file-unwritable") from None
    for name, text in pages.items():
        write_output(out / name, text)
    for stale in stale_pages(out, pages) if fmt == "markdown" else ():
        stale.unlink()
    click.echo(f"Wrote the {blueprint.name} playbook: {len(pages)} "
               f"{'page' if len(pages) == 1 else 'pages'} in {out}/ ({', '.join(pages)}).")
    return 0


def _template_line(exc: Exception) -> Span | None:
    """Where in a template rendering failed: jinja2 puts the template's own line in the traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return Span(frames[-1].filename, frames[-1].lineno or 1, 1) if frames else None
