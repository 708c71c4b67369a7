"""The tools a run needs, from environment variables (never from the repository; never printed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sos.errors import SosError
from sos.handoff.tools import Tool

# Each tool's variables: (name, what it holds, required).
VARIABLES = {
    "asana": (("ASANA_TOKEN", "a personal access token or service account token", True),
              ("ASANA_API_URL", "the API's address (default https://app.asana.com/api/1.0)", False)),
    "jira": (("JIRA_URL", "your site's address, https://<site>.atlassian.net", True),
             ("JIRA_EMAIL", "the email of the account the token belongs to", True),
             ("JIRA_API_TOKEN", "an API token (id.atlassian.com → Security → API tokens)", True)),
    "clickup": (("CLICKUP_TOKEN", "a personal API token, pk_…", True),
                ("CLICKUP_API_URL", "the API's address (default https://api.clickup.com/api/v2)", False)),
}


def open_tools(names: Iterable[str], environ: Mapping[str, str]) -> dict[str, Tool]:
    """A client for each tool in `names`; SosError naming every variable that is not set."""
    missing = [f"{name} ({what})" for tool in sorted(set(names)) for name, what, required in VARIABLES[tool]
               if required and not environ.get(name)]
    if missing:
        raise SosError(f"`sos handoff run` needs {'; '.join(missing)} in the environment", "handoff-credentials")
    tools: dict[str, Tool] = {}
    for tool in set(names):
        if tool == "asana":
            from sos.handoff.asana import DEFAULT_URL, AsanaTool

            tools[tool] = AsanaTool(environ["ASANA_TOKEN"], environ.get("ASANA_API_URL") or DEFAULT_URL)
        elif tool == "jira":
            from sos.handoff.jira import JiraTool

            tools[tool] = JiraTool(environ["JIRA_URL"], environ["JIRA_EMAIL"], environ["JIRA_API_TOKEN"])
        else:
            from sos.handoff.clickup import DEFAULT_URL as CLICKUP_URL
            from sos.handoff.clickup import ClickUpTool

            tools[tool] = ClickUpTool(environ["CLICKUP_TOKEN"], environ.get("CLICKUP_API_URL") or CLICKUP_URL)
    return tools
