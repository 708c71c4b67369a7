#!/usr/bin/env bash
# The main job end to end on the embedded local sandbox, in a fresh temporary folder:
# init from a starter → validate → plan → apply → plan ("No changes") → change → plan → apply.
set -euo pipefail
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

cd "$work"
step sos starters
step sos init acme --starter b2b-saas-meddicc --name acme
cd acme
step sos validate
step sos plan
step sos apply --auto-approve
step sos plan --detailed-exitcode

printf '\n\033[1m# The client adds a security review stage after negotiation, and lowers proposal to 50%%.\033[0m\n'
cat >> blueprint.yaml <<'YAML'
fields:
  opportunity:
    security_review_passed:
      type: checkbox
      label: Security review passed
      help: Tick when the customer's security team has signed off.
pipelines:
  new_business:
    stages:
      - {key: proposal, label: Proposal, probability: 50}
      - {key: security_review, label: Security review, probability: 75, max_days: 14, after: negotiation, require: [security_review_passed]}
YAML
step sos validate
set +e
step sos plan --detailed-exitcode
code=$?
set -e
[ "$code" -eq 2 ] || { echo "expected plan to report changes (exit 2), got $code" >&2; exit 1; }
step sos apply --auto-approve
step sos plan --detailed-exitcode
step sos history

printf '\n\033[1m# Records to audit: deals through the funnel, with the dirty data a client has in week one.\033[0m\n'
step sos sandbox seed --deals 2000
set +e
step sos audit --format html --out audit.html
code=$?
set -e
[ "$code" -eq 2 ] || { echo "expected the audit to find dirty data (exit 2), got $code" >&2; exit 1; }
printf '\nDemo finished: the sandbox in %s matches the blueprint; the audit dashboard is %s.\n' "$work/acme" \
  "$work/acme/audit.html"
