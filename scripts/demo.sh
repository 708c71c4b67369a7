#!/usr/bin/env bash
# The demo: a client repository from a starter, validated and shown.
set -euo pipefail
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

cd "$work"
step sos starters
step sos init acme --starter b2b-saas-meddicc --name acme
cd acme
step sos validate
step sos show
printf '\nDemo finished: validated and resolved in %s\n' "$work/acme"
