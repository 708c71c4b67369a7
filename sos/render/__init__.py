"""Plan renderings: text for terminals, Markdown for pull requests, JSON for machines.

Each takes the plan's one JSON form (`sos.plan.planfile.plan_to_json`, documented by
schemas/plan.schema.json), never the `Plan` object, so the three can never disagree.
"""
