#!/usr/bin/env bash
# The uicctl demo: what a consultant sees on a fleet repository.
set -euo pipefail
cd "$(dirname "$0")/.."
uicctl=./bin/uicctl
if [ -t 1 ]; then b=$'\033[1m' r=$'\033[0m'; else b= r=; fi
step() { printf '\n%s$ %s%s\n' "$b" "$*" "$r"; }

step "uicctl validate examples/fleet    # three tenants, one with a deliberate mistake"
set +e
$uicctl validate examples/fleet
rc=$?
set -e
echo "(exit code $rc: northwind's mistakes are reported with file:line:column and key path)"
[ "$rc" = 1 ] || { echo "demo: expected exit code 1" >&2; exit 1; }

step "uicctl validate examples/fleet/tenants/contoso examples/fleet/tenants/fabrikam"
$uicctl validate examples/fleet/tenants/contoso examples/fleet/tenants/fabrikam

step "uicctl validate --output json examples/fleet/tenants/northwind | head -20"
$uicctl validate --output json examples/fleet/tenants/northwind 2>/dev/null | head -20 || true
