#!/usr/bin/env bash
# Integration test of the real el2go-agent binary serving scripted
# device-link sessions over stdin/stdout (`session --stdio`, no TLS): a
# python3 peer writes varint-delimited EndpointRequests (hello, APDUs to the
# in-process simulator: generate a key and read it back, a services datastore
# written with ALLOCATE/WRITE/COMMIT and read back, goodbye) and checks the
# Responses by position; then the report and the datastore files through
# `status` and `services`; goodbye with error statuses (exit 4), a session cut
# mid-transaction (exit 5, old contents kept), garbage (exit 5). Env: BUILD_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
AG="$BUILD_DIR/agent/el2go-agent"
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/el2go_stdio.XXXXXX")
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/state" "$T/se"
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR
export AG T
export PBWIRE_DIR="$(cd "$(dirname "$0")/lib" && pwd)"
python3 - <<'PY'
import hashlib, os, struct, subprocess, sys

AG, T = os.environ['AG'], os.environ['T']
STATE, SE = T + '/state', 'sim:' + T + '/se'
fails = 0

def check(cond, what):
    global fails
    print(('ok   - ' if cond else 'FAIL - ') + what)
    if not cond:
        fails += 1

import os, sys
sys.path.insert(0, os.environ['PBWIRE_DIR'])
from pbwire import v, ld, vi, fx64, req, msg, rd_varint, fields
def responses(out):
    i, msgs = 0, []
    while i < len(out):
        n, i = rd_varint(out, i)
        msgs.append([fields(r)[0] for f, r in fields(out[i:i + n]) if f == 1]); i += n
    return msgs

AG_, KS, DS = (1, 0), (11, 0x70000010), (50, 0)
HELLO = ld(1, bytes.fromhex('0d00000001') + vi(20, 4096))
def goodbye(st, corr=b'123e4567-e89b-12d3-a456-426614174000'):
    return ld(2, ld(1, vi(1, st) + ld(5, corr)))
def apdu(hexs): return ld(20, ld(100, bytes.fromhex(hexs)))
def ds(op, off=None, ln=None, data=None):
    b = vi(1, op)
    if off is not None: b += vi(2, off)
    if ln is not None: b += vi(3, ln)
    if data is not None: b += ld(10, data)
    return ld(30, b)
def store(sds):
    body = b''.join(v(len(s)) + s for s in sds)
    tail = struct.pack('<III', 44 + len(body), 0, len(sds)) + body
    return hashlib.sha256(tail).digest() + tail

def run(script, *extra):
    p = subprocess.run([AG, '--dir', STATE, '--se', SE, 'session', '--stdio', *extra],
                       input=script, capture_output=True)
    return p.returncode, p.stdout, p.stderr.decode()

# 1. full session
svc = store([fx64(1, 101) + vi(2, 0) + ld(10, b'a1.iot.example') + vi(11, 8883) + vi(13, 2)])
half = len(svc) // 2
script = msg(req(*AG_, HELLO))
script += msg(req(*KS, apdu('80016100094104ef00002042 0103'.replace(' ', ''))),
              req(*KS, apdu('80020000064104ef00002000')),
              req(*KS, apdu('80020000064104ef00009900')))
script += msg(req(*DS, ds(1, None, len(svc))), req(*DS, ds(3, 0, None, svc[:half])))
script += msg(req(*DS, ds(3, half, None, svc[half:])), req(*DS, ds(4)), req(*DS, ds(2, 0, 44)))
script += msg(req(*AG_, goodbye(1)))
rc, out, err = run(script, '-v')
check(rc == 0, 'session with SUCCESS exits 0 (got %d: %s)' % (rc, err.strip()[-200:]))
m = responses(out)
check(len(m) == 4, 'four answered messages, none for the goodbye (got %d)' % len(m))
if len(m) == 4:
    hello = fields(m[0][0][1])
    eps = [fields(e) for f, e in hello if f == 10]
    check([dict(e)[1] for e in eps] == [1, 50, 50, 11], 'hello endpoints AGENT, DS_FS x2, KS')
    a = [dict(fields(r[1]))[100] for r in m[1]]
    check(a[0] == b'\x90\x00', 'key generated in the simulator')
    check(len(a[1]) == 69 and a[1][:3] == b'\x41\x41\x04' and a[1][-2:] == b'\x90\x00',
          'public key read back (data + SW)')
    check(len(a[2]) == 2 and a[2] != b'\x90\x00', 'missing object: bare SW ' + a[2].hex())
    check([dict(fields(r[1]))[1] for r in m[2]] == [1, 1], 'ALLOCATE, WRITE answered OK')
    last = [dict(fields(r[1])) for r in m[3]]
    check(last[0][1] == 1 and last[1][1] == 1 and last[2][10] == svc[:44],
          'WRITE, COMMIT OK; READ returns the committed header')
check('committed' in err, 'verbose log mentions the commit')
check('Overall status: 0x0001: SUCCESS' in err, 'report printed on stderr')
p = subprocess.run([AG, '--dir', STATE, 'status'], capture_output=True, text=True)
check(p.returncode == 0 and 'SUCCESS' in p.stdout, '`status` shows the saved report')
p = subprocess.run([AG, '--dir', STATE, 'services'], capture_output=True, text=True)
check(p.returncode == 0 and 'service 101: type aws, protocol MQTTS, host a1.iot.example:8883' in p.stdout,
      '`services` lists the descriptor written by the session')

# 2. goodbye with error statuses
for st, name in ((0x35, 'ERR_DEVICE_NOT_WHITELISTED'), (0x40, 'ERR_UPDATE_FAILED'), (0x00, 'UNKNOWN')):
    rc, out, err = run(msg(req(*AG_, HELLO)) + msg(req(*AG_, goodbye(st))))
    check(rc == 4 and name in err, 'goodbye %s exits 4 (got %d)' % (name, rc))
p = subprocess.run([AG, '--dir', STATE, 'status'], capture_output=True, text=True)
check(p.returncode == 4 and 'UNKNOWN' in p.stdout, '`status` shows the last (error) report')

# 3. cut mid-transaction: the old services stay
other = store([fx64(1, 202) + ld(10, b'other.example')])
rc, out, err = run(msg(req(*DS, ds(1, None, len(other))), req(*DS, ds(3, 0, None, other[:50]))))
check(rc == 5, 'session cut mid-transaction exits 5 (got %d)' % rc)
p = subprocess.run([AG, '--dir', STATE, 'services'], capture_output=True, text=True)
check('service 101' in p.stdout and '202' not in p.stdout, 'old datastore contents kept')
check(not [f for f in os.listdir(STATE) if f.endswith('.tmp')], 'no staged file left')

# 4. garbage, unknown endpoint
rc, out, err = run(b'\x05\x0a\x03\x08\x01')
check(rc == 5 and out == b'', 'garbage ends the session, nothing sent (exit %d)' % rc)
rc, out, err = run(msg(req(11, 0x1234, apdu('80040000'))))
check(rc == 5 and 'unknown endpoint' in err, 'unknown endpoint ends the session')
sys.exit(1 if fails else 0)
PY
