"""sos docs: the playbook a new rep reads, from the resolved blueprint."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from markdown_it import MarkdownIt

from sos.cli import cli
from sos.resources import starters_dir

STARTERS = sorted(p.stem for p in starters_dir().glob("*.yaml"))


def sos(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def expected_labels(starter: str) -> tuple[set[str], set[str]]:
    """Every stage label and every required field's label, read straight from the starter's YAML (the starters
    extend nothing, so the file is the resolved blueprint). A standard field has no label in the blueprint: the
    playbook writes its key in words."""
    data = yaml.safe_load((starters_dir() / f"{starter}.yaml").read_text(encoding="utf-8"))
    assert "extends" not in data
    stages, fields = set(), set()
    for pipeline in data["pipelines"].values():
        custom = data["fields"].get(pipeline["object"], {})
        for stage in pipeline["stages"]:
            stages.add(stage["label"])
            for key in stage.get("require", []) + stage.get("require_to_leave", []):
                fields.add(custom[key]["label"] if key in custom else key.replace("_", " ").capitalize())
    return stages, fields


def entry_criteria(folder: Path, starter: str) -> dict[str, set[str]]:
    """For each stage of the starter whose Markdown section misses a field needed to enter it, the missing labels.
    docs/language.md (pipelines): a stage's `require` holds in it, every later open stage and the won stage;
    `require_to_leave` from the next stage on; a lost stage carries only its own."""
    data = yaml.safe_load((starters_dir() / f"{starter}.yaml").read_text(encoding="utf-8"))
    missing = {}
    for key, pipeline in data["pipelines"].items():
        custom = data["fields"].get(pipeline["object"], {})
        sections = {s.split("\n", 1)[0]: s for s in (folder / f"pipeline-{key}.md").read_text(
            encoding="utf-8").split("\n### ")[1:]}
        earlier: list[str] = []
        for stage in pipeline["stages"]:
            outcome = stage.get("outcome", "open")
            needed = stage.get("require", []) + (earlier if outcome != "lost" else [])
            labels = {custom[k]["label"] if k in custom else k.replace("_", " ").capitalize() for k in needed}
            section = sections[stage["label"]].split("To move on from it")[0]
            if gaps := {label for label in labels if f"**{label}**" not in section}:
                missing[stage["label"]] = gaps
            if outcome == "open":
                earlier += stage.get("require", []) + stage.get("require_to_leave", [])
    return missing


class Page(HTMLParser):
    """An HTML page's text, and every address it would load or link to."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.addresses: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.addresses += [value or "" for name, value in attrs if name in ("href", "src", "action", "srcset")]
        self.ids |= {value or "" for name, value in attrs if name == "id"}

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("starter", STARTERS)
def test_the_playbook_names_every_stage_and_required_field(starter: str, tmp_path: Path) -> None:
    stages, fields = expected_labels(starter)
    assert stages and fields

    result = sos("docs", f"starter:{starter}", "--out", str(tmp_path / "md"))
    assert result.exit_code == 0, result.output
    markdown = "\n".join(p.read_text(encoding="utf-8") for p in (tmp_path / "md").glob("*.md"))
    assert {label for label in stages | fields if f"{label}" not in markdown} == set()
    assert {label for label in fields if f"**{label}**" not in markdown} == set()

    assert entry_criteria(tmp_path / "md", starter) == {}
    result = sos("docs", f"starter:{starter}", "--format", "html", "--out", str(tmp_path / "html"))
    assert result.exit_code == 0, result.output
    page = Page()
    page.feed((tmp_path / "html" / "playbook.html").read_text(encoding="utf-8"))
    text = " ".join(page.text)
    assert {label for label in stages | fields if label not in text} == set()
    # Nothing loads from anywhere: every address is a fragment of the page itself (or the empty data: icon).
    assert {a for a in page.addresses if a != "data:," and not (a.startswith("#") and a[1:] in page.ids)} == set()


def test_every_link_of_the_markdown_tree_resolves(tmp_path: Path) -> None:
    assert sos("docs", "starter:b2b-saas-meddicc", "--out", str(tmp_path)).exit_code == 0
    pages = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("*.md")}
    assert "README.md" in pages and len(pages) >= 4
    links = [(name, target) for name, text in pages.items() for target in re.findall(r"\]\(([^)]+)\)", text)]
    assert links
    for name, target in links:
        file, _, fragment = target.partition("#")
        page = pages.get(file or name)
        assert page is not None, f"{name} links to {target}, which is not a page"
        if fragment:   # a heading of that page, as GitHub makes anchors
            headings = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
                        for h in re.findall(r"^#+ (.+)$", page, re.M)}
            assert fragment in headings, f"{name} links to #{fragment}, no such heading in {file or name}"


def test_conditions_read_as_sentences_with_labels(tmp_path: Path) -> None:
    assert sos("docs", "starter:smb-bant", "--out", str(tmp_path)).exit_code == 0
    rules = (tmp_path / "rules.md").read_text(encoding="utf-8")
    # discount_needs_approval: when discount_percent > 15, require discount_approved.
    assert "When Discount % is more than 15: Discount approved is ticked." in rules
    leads = (tmp_path / "leads.md").read_text(encoding="utf-8")
    assert "When Request type is “Demo request”: ae1@example.com, ae2@example.com and ae3@example.com in turn." \
        in leads
    automation = (tmp_path / "automation.md").read_text(encoding="utf-8")
    assert "When a deal enters Quote sent, its owner gets a task “Quote follow-up" in automation
    assert "due in 2 days (high priority)" in automation
    # docs/language.md, cadences: stage_age_over fires for an open deal only, as the sandbox does.
    assert "When an open deal stays in a stage longer than" in automation
    assert "stays unassigned" not in leads    # smb-bant's last route is a catch-all
    assert "discount_percent" not in rules and "quote_sent" not in automation


def test_a_client_template_overrides_sos_own(project: Path) -> None:
    folder = project / "templates" / "playbook"
    folder.mkdir(parents=True)
    (folder / "rules.md.j2").write_text("# House rules of {{ playbook.name }}\n{% for rule in playbook.rules %}"
                                        "- {{ rule.message }}\n{% endfor %}", encoding="utf-8")
    result = sos("docs")
    assert result.exit_code == 0, result.output
    rules = (project / "playbook" / "rules.md").read_text(encoding="utf-8")
    assert rules.startswith("# House rules of beta\n- Open deals need a close date")
    assert "[Rules](rules.md)" in (project / "playbook" / "README.md").read_text(encoding="utf-8")  # sos's own


@pytest.mark.parametrize(("template", "where", "says"), [
    ("# {{ playbook.name }\n", "rules.md.j2:1:1", "unexpected '}'"),
    ("# Rules\n\n{{ playbook.no_such_thing }}\n", "rules.md.j2:3:1", "no_such_thing"),
    ("# Rules\n{{ playbook.rules | length / 0 }}\n", "rules.md.j2:2:1", "division by zero"),
])
def test_a_broken_template_is_a_located_error(project: Path, template: str, where: str, says: str) -> None:
    folder = project / "my-templates"
    folder.mkdir()
    (folder / "rules.md.j2").write_text(template, encoding="utf-8")
    result = sos("docs", "--templates", "my-templates")
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert where in first and "[template-error]" in first and says in first
    assert "Traceback" not in result.output
    assert not (project / "playbook").exists()     # nothing half-written


def test_a_missing_templates_folder_is_an_error(project: Path) -> None:
    result = sos("docs", "--templates", "nowhere")
    assert result.exit_code == 1 and "'nowhere' does not exist" in result.output


def test_the_html_page_escapes_what_the_blueprint_says(project: Path) -> None:
    blueprint = project / "blueprint.yaml"
    text = blueprint.read_text(encoding="utf-8")
    blueprint.write_text(re.sub(r"(?m)^description: .*$", 'description: "Acme <img src=x onerror=alert(1)> & co"',
                                text), encoding="utf-8")
    assert sos("docs", "--format", "html").exit_code == 0
    html = (project / "playbook" / "playbook.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    assert "Acme <img src=x onerror=alert(1)> & co" in " ".join(page.text)   # shown as text
    assert "x" not in page.addresses and "<img" not in html


def test_the_handoff_to_delivery_is_in_the_playbook(project: Path) -> None:
    with (project / "blueprint.yaml").open("a", encoding="utf-8") as out:
        out.write("handoffs:\n  onboarding:\n    stage: closed_won\n    tool: jira\n    project: DEL\n"
                  "    issue_type: Task\n    name: '{name} onboarding'\n    fields: [amount, need, signer_email]\n"
                  "    assign_to: {user: lead@acme.io}\n")
    assert sos("docs").exit_code == 0
    automation = Page()
    automation.feed(MarkdownIt("commonmark").render((project / "playbook" / "automation.md").read_text(
        encoding="utf-8")))
    said = " ".join(automation.text)
    assert ("When a deal reaches Closed Won, delivery gets a Jira issue in project DEL named “[Name] onboarding”, "
            "assigned to lead@acme.io; its link is written back on the deal (Onboarding link).") in said
    assert "Need : In the buyer's words" in said and "Signer email" in said and automation.tags.count("strong") == 3
    assert "and the handoff to delivery" in (project / "playbook" / "README.md").read_text(encoding="utf-8")
    assert sos("docs", "--format", "html").exit_code == 0
    page = Page()
    page.feed((project / "playbook" / "playbook.html").read_text(encoding="utf-8"))
    assert "#handoff" in page.addresses and "handoff" in page.ids
    assert "When a deal reaches Closed Won, delivery gets a Jira issue" in " ".join(page.text)


# Labels, help texts, messages and descriptions with what Markdown reads as markup: emphasis, headings, tables, raw
# HTML, autolinks.
SPECIAL = """\
sos: 1
name: acme
description: "Sells <b>widgets</b> & more"
fields:
  opportunity:
    sow_link: {type: text, label: "SOW | link", help: "Paste the *signed* SOW: <https://x.example>"}
    champion_ok: {type: checkbox, label: "Champion #1 OK_yes"}
pipelines:
  new_business:
    label: "New *business*"
    object: opportunity
    stages:
      - {key: discovery, label: "Discovery_1", probability: 10}
      - {key: proposal, label: "Proposal #2 <em>", probability: 60, require: [sow_link, champion_ok]}
      - {key: won, label: "Won | signed", probability: 100, outcome: won}
      - {key: lost, label: Lost, probability: 0, outcome: lost}
rules:
  sow_needed:
    object: opportunity
    when: "stage >= 'proposal'"
    require: "not is_blank(sow_link)"
    message: "Add the *SOW* link | see #legal <script>"
lead_statuses:
  - {key: new, label: "New_lead", default: true, description: "Not yet | contacted *at all*"}
  - {key: done, label: Done, converted: true}
routing:
  - {key: fresh, when: "status == 'new'", assign_to: {user: ae@acme.test}}
"""


def test_the_markdown_shows_what_the_blueprint_says_as_written(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(SPECIAL, encoding="utf-8")
    result = sos("docs", str(tmp_path / "acme.yaml"), "--out", str(tmp_path / "md"))
    assert result.exit_code == 0, result.output
    markdown = MarkdownIt("commonmark").enable("table")     # CommonMark, which GitHub's Markdown extends with tables
    pages = {}
    for path in (tmp_path / "md").glob("*.md"):
        pages[path.name] = Page()
        pages[path.name].feed(markdown.render(path.read_text(encoding="utf-8")))
    text = " ".join(" ".join(page.text) for page in pages.values())
    written = ["Sells <b>widgets</b> & more", "SOW | link", "Paste the *signed* SOW: <https://x.example>",
               "Champion #1 OK_yes", "New *business*", "Discovery_1", "Proposal #2 <em>", "Won | signed",
               "Add the *SOW* link | see #legal <script>", "New_lead", "Not yet | contacted *at all*"]
    assert [words for words in written if words not in text] == []
    tags = {tag for page in pages.values() for tag in page.tags}
    assert tags & {"b", "em", "script"} == set()                                  # no markup from the blueprint
    assert [a for page in pages.values() for a in page.addresses if "example" in a] == []    # nor a link
    assert pages["leads.md"].tags.count("tr") == 3 and pages["leads.md"].tags.count("td") == 4  # 2 statuses, 2 cells
    assert {page.tags.count("h1") for page in pages.values()} == {1}              # no heading from a `#`
    # docs/language.md, routing: the sandbox routes a lead created without an owner; with no catch-all, a lead no
    # route matches is left unassigned.
    assert "A new lead that comes in without an owner is checked against these routes in order" in text
    assert "A lead that none matches stays unassigned." in text


def test_a_page_the_blueprint_no_longer_has_is_removed(project: Path) -> None:
    assert sos("docs").exit_code == 0
    (project / "playbook" / "notes.md").write_text("the client's own page\n", encoding="utf-8")
    blueprint = project / "blueprint.yaml"
    cadences = "first_touch, no_answer_follow_up, quote_follow_up, stale_deal, daily_stale_deals, " \
        "monday_pipeline_review, friday_forecast"
    blueprint.write_text(blueprint.read_text(encoding="utf-8").replace(
        "extends: [starter:smb-bant]\n", f"extends: [starter:smb-bant]\nremove:\n  cadences: [{cadences}]\n"),
        encoding="utf-8")
    result = sos("docs")
    assert result.exit_code == 0, result.output
    pages = sorted(p.name for p in (project / "playbook").iterdir())
    assert "automation.md" not in pages and "notes.md" in pages    # sos's stale page gone, the client's own kept
    assert "automation.md" not in (project / "playbook" / "README.md").read_text(encoding="utf-8")


def test_a_client_style_replaces_sos_own_and_the_page_allows_it(project: Path) -> None:
    folder = project / "templates" / "playbook"
    folder.mkdir(parents=True)
    style = "h1 { color: #c0ffee; }\n"
    (folder / "playbook.css").write_text(style, encoding="utf-8")
    assert sos("docs", "--format", "html").exit_code == 0
    html = (project / "playbook" / "playbook.html").read_text(encoding="utf-8")
    assert f"<style>{style}</style>" in html
    # the CSP names the inline style by its SHA-256 (CSP Level 2, hash-source), computed here from the file
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    assert f"style-src 'sha256-{digest}'" in html
