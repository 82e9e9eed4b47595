#!/usr/bin/env bash
# The uicctl demo: the main job, against the local sandbox. A consultant's fleet of three
# partner tenants is scaffolded, validated, planned and applied; a second plan is clean but
# for the manual steps (consent, Partner Center App management). Nothing reaches Microsoft.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
uicctl=$PWD/bin/uicctl
demo=$PWD/.demo
if [ -t 1 ]; then b=$'\033[1m' r=$'\033[0m'; else b= r=; fi
step() { printf '\n%s$ %s%s\n' "$b" "$*" "$r"; }
run() { step "$*"; "$@"; }

rm -rf "$demo"
mkdir -p "$demo/config/sops/age"
# Everything the demo shows is kept, so that step 8 can prove no secret is among it.
exec > >(tee "$demo/demo.log") 2>&1

# 1. Validation catches mistakes offline, with file:line:col and the key path.
step "uicctl validate examples/fleet    # three tenants, one with a deliberate mistake"
set +e
$uicctl validate examples/fleet
rc=$?
set -e
echo "(exit code $rc: northwind's mistakes are reported with file:line:column and key path)"
[ "$rc" = 1 ] || { echo "demo: expected exit code 1" >&2; exit 1; }

# 2. The sandbox: a local Entra sign-in, Graph and Partner Center with three partner tenants.
step "uicctl sandbox --tenants 3 --env-file .demo/sandbox.env --world .demo/world.json &"
$uicctl sandbox --tenants 3 --env-file "$demo/sandbox.env" --world "$demo/world.json" --dir "$demo/sandbox" >"$demo/sandbox.log" 2>&1 &
sandbox=$!
trap 'kill $sandbox 2>/dev/null; wait $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [ -s "$demo/world.json" ] && break; kill -0 $sandbox || { cat "$demo/sandbox.log"; exit 1; }; sleep 0.1; done
head -1 "$demo/sandbox.log"
set -a; . "$demo/sandbox.env"; set +a
export XDG_CONFIG_HOME=$demo/config   # the demo's own sops key, not yours

# 3. A fleet repository: an age key for sops (outside the repository), then one spec per tenant.
step "age-keygen -o ~/.config/sops/age/keys.txt    # (the demo uses its own key under .demo/config)"
go run ./scripts/agekey "$XDG_CONFIG_HOME/sops/age/keys.txt"
awk -F'"' '/"name":/ {name=$4} /"tenantId":/ && name != "" {print name, $4; name=""}' "$demo/world.json" >"$demo/tenants.txt"
# The first tenant also delivers its credentials to its Azure Key Vault (the sandbox has one
# per tenant, reached at its real name through the sandbox's proxy: HTTPS_PROXY).
vault=$(awk -F'"' '/"url":/ {print $4; exit}' "$demo/world.json")
first=1
while read -r name tenant; do
  if [ "$first" = 1 ]; then
    run $uicctl init "$demo/fleet" --name "$name" --tenant-id "$tenant" --key-vault "$vault"
    vaulted=$name
    first=0
  else
    run $uicctl init "$demo/fleet" --name "$name" --tenant-id "$tenant"
  fi
done <"$demo/tenants.txt"
cd "$demo/fleet"

run $uicctl validate tenants

# 4. Plan: everything to create (exit 2 with --detailed-exitcode), then apply it.
set +e
step "uicctl plan --detailed-exitcode tenants"
$uicctl plan --detailed-exitcode tenants
rc=$?
set -e
echo "(exit code $rc: changes pending)"
[ "$rc" = 2 ] || { echo "demo: expected exit code 2" >&2; exit 1; }

run $uicctl apply --auto-approve tenants

# 5. In sync: the second plan has no changes; consent and App management are manual steps.
run $uicctl plan --detailed-exitcode tenants
step "head -4 tenants/*/secrets.sops.yaml    # the client secret is stored encrypted, never shown"
for f in tenants/*/secrets.sops.yaml; do echo "==> $f"; head -4 "$f"; done

# 6. Consent: the partner's MFA sign-in (Secure Application Model) stores the refresh token.
#    The sandbox's admin API plays the user at the browser (curl stands in for the browser).
if command -v curl >/dev/null; then
  awk -F'"' '/"name":/ && !upn_wanted {name=$4; upn_wanted=1} /"upn":/ && upn_wanted {print name, $4; upn_wanted=0}' \
    "$demo/world.json" | grep -v '^$' >"$demo/accounts.txt"
  while read -r name upn; do
    [ -d "tenants/$name" ] || continue
    step "uicctl consent --no-browser tenants/$name    # the browser signs in as $upn with MFA"
    $uicctl consent --no-browser "tenants/$name" >"$demo/consent-$name.out" 2>"$demo/consent-$name.err" &
    consent=$!
    for _ in $(seq 1 100); do grep -q 'waiting for the sign-in' "$demo/consent-$name.err" && break; sleep 0.1; done
    url=$(grep -o 'https://[^ ]*/oauth2/v2.0/authorize?[^ ]*' "$demo/consent-$name.err" | head -1)
    curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d "{\"url\":\"$url\",\"upn\":\"$upn\"}" "$UICCTL_SANDBOX_URL/_sandbox/signin"
    wait $consent
    cat "$demo/consent-$name.out"
  done <"$demo/accounts.txt"
  run $uicctl plan --detailed-exitcode tenants

  # 7. Verify: what CI runs nightly, the same calls Use IT Cloud makes, with a JUnit report;
  #    for the first tenant also that its vault holds the secrets file's values (delivery).
  run $uicctl verify --junit "$demo/verify.xml" tenants
fi


# 8. No secret was shown: every client secret and refresh token of the fleet, and the operator
#    secret, are looked for in all the demo printed and wrote outside the secrets files.
step "go run ./scripts/leakcheck    # no secret in any output"
(cd "$root" && go run ./scripts/leakcheck -fleet "$demo/fleet" -env AZURE_CLIENT_SECRET \
  "$demo/demo.log" "$demo/sandbox.log" "$demo/fleet" $(ls "$demo"/consent-*.out "$demo"/consent-*.err "$demo/verify.xml" 2>/dev/null))
