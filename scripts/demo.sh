#!/usr/bin/env bash
# The main job end to end on the embedded local sandbox, in a new temporary folder that is kept (its path is
# printed at the end): init from a starter → validate → plan → apply → plan ("No changes") → seed the sandbox
# with realistic deals → audit the dirty data → tighten a stage (the plan counts the deals it would block) →
# apply → audit again, with the HTML dashboard → the Friday forecast → the Monday pipeline review.
set -euo pipefail
work="$(mktemp -d "${TMPDIR:-/tmp}/sos-demo.XXXXXX")"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }
# A command whose exit code says something (2: changes pending, records found): show it, stop on anything else.
expect() { local want=$1; shift; set +e; step "$@"; local code=$?; set -e
           [ "$code" -eq "$want" ] || { echo "expected exit $want from '$*', got $code" >&2; exit 1; }; }

cd "$work"
step sos starters
step sos init acme --starter b2b-saas-meddicc --name acme
cd acme
step sos validate
step sos test
step sos plan
step sos apply --auto-approve
step sos plan --detailed-exitcode

printf '\n\033[1m# The client'"'"'s CRM holds deals: seed the sandbox with 400 realistic ones (dirty data included).\033[0m\n'
step sos sandbox seed --deals 400 --seed 7
expect 2 sos audit --top 3

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
      - {key: proposal, label: Proposal, probability: 50, also_require: [next_step]}
      - {key: security_review, label: Security review, probability: 75, max_days: 14, after: negotiation, require: [security_review_passed]}
YAML
step sos validate
expect 2 sos plan --detailed-exitcode
step sos apply --auto-approve
step sos plan --detailed-exitcode
step sos history
expect 2 sos audit --format html --out audit.html
step sos forecast --format markdown
printf '\nDemo finished in %s: the sandbox matches the blueprint, and the audit dashboard is %s\n' \
       "$work/acme" "$work/acme/audit.html"

printf '\n\033[1m# Monday morning: the pipeline review the sales team meets on.\033[0m\n'
step sos review
