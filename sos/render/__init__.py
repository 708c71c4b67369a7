"""Plan renderings: text for terminals, Markdown for pull requests, JSON for machines.

Each takes the plan's one JSON form (`sos.plan.planfile.plan_to_json`, documented by
schemas/plan.schema.json), never the `Plan` object, so the three can never disagree.
"""


def render_plan(data: dict[str, object], fmt: str, *, colour: bool = False) -> str:
    """The plan's JSON form `data` as `fmt` (text, json or markdown); `colour` for text on a terminal."""
    if fmt == "json":
        from sos.render.json import render_json

        return render_json(data)
    if fmt == "markdown":
        from sos.render.markdown import render_markdown

        return render_markdown(data)
    from sos.render.text import render_text

    return render_text(data, colour=colour)
