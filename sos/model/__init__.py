"""The Model: CRM-neutral desired (or live) resources, the one IR every backend speaks."""
