#!/usr/bin/env bash
# End-to-end test of removals in el2go-server (objects remove, services
# remove, groups remove [--force]) against the real el2go-agent binary
# (`session --stdio`) on the in-process simulator (sim:DIR): CLI errors and
# exit codes (not found 3, usage 2, group in use 1), a removed service gone
# from the agent's customer datastore at the next session, the last one
# removed emptying it (`el2go-agent services` lists nothing), a removed
# object no longer provisioned while its key stays on the SE, and a group
# removed with --force (claim codes gone, device detached and refused,
# nothing deleted on the device). Env: BUILD_DIR, SRC_DIR.
# shellcheck source-path=SCRIPTDIR source=lib/sim.sh
. "$(dirname "$0")/lib/sim.sh"
it_setup el2gs_remove
SRV="$BUILD_DIR/server/el2go/el2go-server"
AG="$BUILD_DIR/agent/el2go-agent"
it_need "$SRV" "$AG" "$CLI"
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR EL2GO_SERVER_DIR

D="$T/srv" SE="$T/se" ST="$T/state"
mkdir -p "$ST"
S() { "$SRV" --dir "$D" "$@"; }
session() { S session -- "$AG" --dir "$ST" --se "sim:$SE" session --stdio; }
agent_services() { "$AG" --dir "$ST" services "$@"; }

# ---- a provisioned device: two objects, two services ----
expect_rc 0 "init" S init
UIDHEX=$("$CLI" -p "sim:$SE" uid 2>/dev/null | tr -d '\r\n' | sed 's/^0x//' | tr a-f A-F)
[ ${#UIDHEX} -eq 36 ] || { echo "FAIL - simulator UID not read ($UIDHEX)"; exit 1; }
expect_rc 0 "groups add" S groups add demo
expect_rc 0 "devices add" S devices add "0x$UIDHEX" --group demo
expect_rc 0 "objects add 0x83000101" S objects add demo --id 0x83000101 --type ec-p256
expect_rc 0 "objects add 0x83000201" S objects add demo --id 0x83000201 --type ec-p256
expect_rc 0 "services add 101" S services add demo --id 101 --type aws --host mqtt.local --port 8883 \
  --key-id 0x83000101 --cert-id 0x83000102
expect_rc 0 "services add 102" S services add demo --id 102 --type custom --host other.local --port 8883
expect_rc 0 "first session" session
has "$T/out" "2 object\(s\), 2 service\(s\)" "both objects and services provisioned"
expect_rc 0 "agent services --json" agent_services --json
has "$T/out" '"identifier": 101' "agent lists service 101"
has "$T/out" '"identifier": 102' "agent lists service 102"

# ---- CLI errors ----
expect_rc 3 "objects remove: unknown object" S objects remove demo --id 0x83000301
has "$T/err" "group 'demo' has no object 0x83000301" "message names the object"
expect_rc 3 "objects remove: unknown group" S objects remove nosuch --id 0x83000101
has "$T/err" "no group named 'nosuch'" "message names the group"
expect_rc 2 "objects remove: id 0" S objects remove demo --id 0
expect_rc 2 "objects remove: no --id" S objects remove demo
expect_rc 3 "services remove: unknown service" S services remove demo --id 999
has "$T/err" "group 'demo' has no service 999" "message names the service"
expect_rc 2 "services remove: bad id" S services remove demo --id x1
expect_rc 2 "groups remove: unknown option" S groups remove demo --forc
expect_rc 3 "groups remove: unknown group" S groups remove nosuch
expect_rc 1 "groups remove: group in use refused" S groups remove demo
has "$T/err" "1 device\(s\), 0 claim code\(s\), 2 object\(s\), 2 service\(s\).*--force" "refusal counts what is left"
expect_rc 0 "groups list" S groups list
has "$T/out" "^demo$" "refused group still there"

# ---- one service and one object removed ----
expect_rc 0 "services remove 101" S services remove demo --id 101
expect_rc 0 "objects remove 0x83000201" S objects remove demo --id 0x83000201
expect_rc 0 "services list" S services list
hasnt "$T/out" "service 101" "service 101 no longer listed"
expect_rc 0 "objects list" S objects list demo
hasnt "$T/out" "83000201" "object 0x83000201 no longer listed"
expect_rc 0 "devices show" S devices show "0x$UIDHEX"
hasnt "$T/out" "object 0x83000201" "the device's state for the removed object is gone"
has "$T/out" "object 0x83000101 .*PROVISIONING_COMPLETED" "the other object's state stays"
expect_rc 0 "session after the removals" session
has "$T/out" "rtp 0x02, csp 0x01, claim 0x01; 0 object\(s\), 1 service\(s\)" "nothing provisioned, datastore rewritten"
expect_rc 0 "agent services --json" agent_services --json
hasnt "$T/out" '"identifier": 101' "service 101 gone from the agent"
has "$T/out" '"identifier": 102' "service 102 still on the agent"
expect_rc 0 "the removed object's key stays on the SE" "$CLI" -p "sim:$SE" get pub 83000201 -

# ---- the last service removed: the customer datastore is emptied ----
expect_rc 0 "services remove 102" S services remove demo --id 102
expect_rc 0 "session with no services left" session
has "$T/out" "csp 0x01.*customer datastore cleared" "datastore cleared"
expect_rc 0 "agent services (none)" agent_services
if [ ! -s "$T/out" ]; then ok "agent lists no service"; else bad "agent still lists: $(cat "$T/out")"; fi
expect_rc 0 "agent services --json (none)" agent_services --json
has "$T/out" '^\[ *\]$' "agent JSON is an empty array"
expect_rc 0 "next session" session
has "$T/out" "csp 0x02" "no change the next time"
hasnt "$T/out" "cleared" "not cleared again"

# ---- the group removed with --force ----
CODE=$(S claimcodes create demo)
expect_rc 1 "groups remove: still in use" S groups remove demo
has "$T/err" "1 device\(s\), 1 claim code\(s\), 1 object\(s\), 0 service\(s\)" "refusal counts the claim code"
expect_rc 0 "groups remove --force" S groups remove demo --force
expect_rc 0 "groups list" S groups list
hasnt "$T/out" "^demo$" "group gone"
expect_rc 0 "claimcodes list" S claimcodes list
hasnt "$T/out" "$CODE" "its claim code gone"
expect_rc 0 "objects list" S objects list
if [ ! -s "$T/out" ]; then ok "its objects gone"; else bad "objects left: $(cat "$T/out")"; fi
expect_rc 0 "devices show" S devices show "0x$UIDHEX"
has "$T/out" "group=-" "device detached, still allowlisted"
hasnt "$T/out" "object 0x83000101" "its object states gone"
expect_rc 4 "detached device refused" session
has "$T/out" "ERR_DEVICE_NOT_WHITELISTED" "refusal status"
expect_rc 0 "nothing deleted on the device" "$CLI" -p "sim:$SE" get pub 83000101 -
expect_rc 0 "group name reusable" S groups add demo
expect_rc 0 "an empty group goes without --force" S groups remove demo
expect_rc 0 "group added again" S groups add demo2
expect_rc 0 "--force may come before the name" S groups remove --force demo2
expect_rc 2 "--force alone is not a name" S groups remove --force

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all el2go-server removal checks passed"
