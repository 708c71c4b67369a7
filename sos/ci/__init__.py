"""Where a client's rhythm runs: a CI workflow (today GitHub Actions) that plans, applies, checks drift and runs the
blueprint's scheduled reports."""
