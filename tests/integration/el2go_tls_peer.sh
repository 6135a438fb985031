#!/usr/bin/env bash
# Acceptance test of `el2go-agent connect` (TLS, spec §2/§3/§4): a scripted
# TLS test peer (python3 ssl on loopback; a local root -> issuing CA -> server
# chain and CRLs made with `cryptography`) requires a client certificate from
# the simulator's factory CA (DIR/factory-ca.pem) and plays request sequences
# against the real binary, whose client key/certificate come from the
# in-process simulator through the se05x OpenSSL provider: hello; CRL good /
# revoked server certificate / wrong issuer; APDUs forwarded to the SE
# (create a key, read it back, read the UID); datastore
# ALLOCATE/WRITE/COMMIT/READ; a session cut mid-transaction keeps the old
# contents; goodbye SUCCESS and error statuses (exit codes); the server sees
# the SE's certificate (subject CN = UID); untrusted server, host name
# mismatch, client certificate refused, nothing listening, SE unreachable,
# not configured; the connection datastore rewritten from --host and from
# the environment and then used alone (RSA pair from a datastore); TLS 1.2
# and 1.3; --daemon retries with backoff; `export DIR` of the provisioned
# service (key reference PEM, certificates, services.json). Env: BUILD_DIR.
set -u
BUILD_DIR=${BUILD_DIR:-build}
AG="$BUILD_DIR/agent/el2go-agent"
if ! python3 -c 'import cryptography' 2>/dev/null; then
    echo "FAIL: python3-cryptography missing (scripts/deps.sh installs it)"; exit 1
fi
if [ ! -f "$BUILD_DIR/provider/se05x.so" ]; then
    echo "FAIL: $BUILD_DIR/provider/se05x.so not built"; exit 1
fi
T=$(mktemp -d "${SE05X_TEST_TMP:-/tmp}/el2go_tls.XXXXXX")
SIMPID=
trap '[ -n "$SIMPID" ] && kill "$SIMPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
mkdir -p "$T/state" "$T/se" "$T/pki" "$T/jse"
# the se05x-sim daemon too (JRCP: the agent and the provider each connect)
"$BUILD_DIR/sim/se05x-sim" --dir "$T/jse" --port 0 --port-file "$T/jse.port" --quiet &
SIMPID=$!
for _ in $(seq 100); do [ -s "$T/jse.port" ] && break; sleep 0.1; done
export JRCP="127.0.0.1:$(cat "$T/jse.port" 2>/dev/null)"
unset EDGELOCK2GO_HOSTNAME EDGELOCK2GO_PORT EL2GO_STATE_DIR SE05X_PORT EX_SSS_BOOT_SSS_PORT
export EL2GO_PROVIDER_DIR="$BUILD_DIR/provider"
# first start of the simulator: factory objects and factory-ca.pem
"$AG" --se "sim:$T/se" claimcode delete >/dev/null 2>&1
export AG T
export PBWIRE_DIR="$(cd "$(dirname "$0")/lib" && pwd)"
timeout 300 python3 - <<'PY'
import datetime, hashlib, os, socket, ssl, struct, subprocess, sys, threading
from cryptography import x509
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

AG, T = os.environ['AG'], os.environ['T']
STATE, SE, PKI = T + '/state', 'sim:' + T + '/se', T + '/pki'
fails = 0

def check(cond, what):
    global fails
    print(('ok   - ' if cond else 'FAIL - ') + what, flush=True)
    if not cond:
        fails += 1

# ---- PKI ------------------------------------------------------------------
NOW = datetime.datetime.now(datetime.timezone.utc)
def name(cn): return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
def cert(subj, key, issuer, ikey, ca=False, san=None, serial=None):
    b = (x509.CertificateBuilder().subject_name(name(subj)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
         .not_valid_before(NOW - datetime.timedelta(hours=1))
         .not_valid_after(NOW + datetime.timedelta(days=30))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in san]), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return b.sign(ikey, hashes.SHA256())
def crl(issuer, ikey, revoked=()):
    b = (x509.CertificateRevocationListBuilder().issuer_name(name(issuer))
         .last_update(NOW - datetime.timedelta(hours=1)).next_update(NOW + datetime.timedelta(days=1)))
    for s in revoked:
        b = b.add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(s)
                                      .revocation_date(NOW - datetime.timedelta(minutes=5)).build())
    return b.sign(ikey, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
def k(): return ec.generate_private_key(ec.SECP256R1())
def pem(c): return c.public_bytes(serialization.Encoding.PEM)
def write_chain(fn, key, certs):
    with open(fn, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
        for c in certs: f.write(pem(c))
    return fn

root_k, ica_k, other_k = k(), k(), k()
root = cert('Test EL2GO Root', root_k, 'Test EL2GO Root', root_k, ca=True)
ica = cert('Test EL2GO Issuing CA', ica_k, 'Test EL2GO Root', root_k, ca=True)
other = cert('Other Root', other_k, 'Other Root', other_k, ca=True)
srv_k = k()
good = cert('localhost', srv_k, 'Test EL2GO Issuing CA', ica_k, san=['localhost'], serial=1001)
revoked = cert('localhost', srv_k, 'Test EL2GO Issuing CA', ica_k, san=['localhost'], serial=1002)
wrongname = cert('wrong.example', srv_k, 'Test EL2GO Issuing CA', ica_k, san=['wrong.example'])
untrusted = cert('localhost', srv_k, 'Other Root', other_k, san=['localhost'])
CHAIN_GOOD = write_chain(PKI + '/good.pem', srv_k, [good, ica])
CHAIN_REVOKED = write_chain(PKI + '/revoked.pem', srv_k, [revoked, ica])
CHAIN_WRONGNAME = write_chain(PKI + '/wrongname.pem', srv_k, [wrongname, ica])
CHAIN_UNTRUSTED = write_chain(PKI + '/untrusted.pem', srv_k, [untrusted])
CA = PKI + '/root.pem'
open(CA, 'wb').write(pem(root))
OTHER_CA = PKI + '/other.pem'
open(OTHER_CA, 'wb').write(pem(other))
CRL_GOOD = crl('Test EL2GO Issuing CA', ica_k)
CRL_REVOKED = crl('Test EL2GO Issuing CA', ica_k, [1002])
CRL_WRONG = crl('Test EL2GO Root', root_k)          # not the leaf's issuer
FACTORY_CA = T + '/se/factory-ca.pem'

# ---- protobuf bits ---------------------------------------------------------
import os, sys
sys.path.insert(0, os.environ['PBWIRE_DIR'])
from pbwire import v, ld, vi, fx64, req, msg, rd_varint, fields

AGT, KS, DS = (1, 0), (11, 0x70000010), (50, 0)
HELLO = req(*AGT, ld(1, bytes.fromhex('0d00000001') + vi(20, 4096)))
def CRL(der): return req(*AGT, ld(3, ld(1, der)))
def GOODBYE(st): return req(*AGT, ld(2, ld(1, vi(1, st) + ld(5, b'corr-0001'))))
def apdu(hexs): return req(*KS, ld(20, ld(100, bytes.fromhex(hexs.replace(' ', '')))))
def ds(op, off=None, ln=None, data=None):
    b = vi(1, op)
    if off is not None: b += vi(2, off)
    if ln is not None: b += vi(3, ln)
    if data is not None: b += ld(10, data)
    return req(*DS, ld(30, b))
def store(sds):
    body = b''.join(v(len(s)) + s for s in sds)
    tail = struct.pack('<III', 44 + len(body), 0, len(sds)) + body
    return hashlib.sha256(tail).digest() + tail

# ---- the peer ------------------------------------------------------------------
class Peer:
    """Serves `sessions` connections; each session is a list of (message,
    expect_answer). Records answers, the client certificate and the outcome."""
    def __init__(self, chain, sessions, client_ca=FACTORY_CA, maxver=None):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(chain)
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx.load_verify_locations(client_ca)
        if maxver: self.ctx.maximum_version = maxver
        self.sni, self.clean = [], []
        self.ctx.sni_callback = lambda so, nm, cx: self.sni.append(nm)
        self.sock = socket.socket(); self.sock.bind(('127.0.0.1', 0)); self.sock.listen(4)
        self.sock.settimeout(60)
        self.port = self.sock.getsockname()[1]
        self.sessions, self.answers, self.certs, self.versions, self.errors = sessions, [], [], [], []
        self.th = threading.Thread(target=self.run, daemon=True); self.th.start()
    def read_msg(self, c):
        n = s = 0
        while True:
            b = c.recv(1)
            if not b: raise EOFError('agent closed')
            n |= (b[0] & 0x7f) << s; s += 7
            if not b[0] & 0x80: break
        d = b''
        while len(d) < n:
            x = c.recv(n - len(d))
            if not x: raise EOFError('agent closed in a message')
            d += x
        return [fields(r)[0] for f, r in fields(d) if f == 1]
    def run(self):
        for script in self.sessions:
            got = []
            self.answers.append(got)
            try:
                raw, _ = self.sock.accept()
                if raw is None: raise OSError('closed')
                raw.settimeout(30)
                c = self.ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False)
            except Exception as e:
                self.errors.append(repr(e)); self.certs.append(None); continue
            self.certs.append(c.getpeercert(binary_form=True)); self.versions.append(c.version())
            try:
                for m, answered in script:
                    if m is None:          # cut the connection here
                        break
                    c.sendall(m)
                    if answered: got.append(self.read_msg(c))
                else:
                    try:                   # wait for the agent's close_notify
                        self.clean.append(c.recv(1) == b'')
                    except Exception: self.clean.append(False)
            except Exception as e:
                self.errors.append(repr(e))
            try: c.close()
            except Exception: pass
    def join(self):
        try: self.sock.shutdown(socket.SHUT_RDWR)   # wakes a pending accept
        except OSError: pass
        self.th.join(60); self.sock.close()

def agent(*args, env=None, host='localhost', port=None, ca=CA, se=SE):
    cmd = [AG, '--dir', STATE, 'connect', '--se', se, '--timeout', '20']
    if host: cmd += ['--host', host]
    if port: cmd += ['--port', str(port)]
    if ca: cmd += ['--ca', ca]
    e = dict(os.environ); e.update(env or {})
    p = subprocess.run(cmd + list(args), capture_output=True, env=e, timeout=120)
    return p.returncode, p.stderr.decode()

def run(chain, script, *args, sessions=None, **kw):
    peer = Peer(chain, sessions or [script], **{k2: kw.pop(k2) for k2 in ('client_ca', 'maxver') if k2 in kw})
    rc, err = agent(*args, port=peer.port, **kw)
    peer.join()
    return rc, err, peer

def ds_ok(a): return dict(fields(a[1])).get(1) == 1

# 1. full session ---------------------------------------------------------------
def ref(obj): return vi(1, 11) + vi(2, 0x70000010) + vi(3, obj)
rootder = root.public_bytes(serialization.Encoding.DER)
svc = store([fx64(1, 101) + vi(2, 0) + ld(10, b'a1.iot.example') + vi(11, 8883) + vi(13, 2)
             + ld(14, b'device-1') + ld(16, b'not-exported') + ld(20, rootder) + ld(21, rootder)
             + ld(52, ref(0xEF000020))])
half = len(svc) // 2
script = [(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True),
          (msg(apdu('80016100094104ef00002042 0103'), apdu('80020000064104ef00002000'),
               apdu('80 02 00 00 00 00 06 41 04 7f ff 02 06 00 00')), True),
          (msg(ds(1, None, len(svc)), ds(3, 0, None, svc[:half])), True),
          (msg(ds(3, half, None, svc[half:]), ds(4), ds(2, 0, 44)), True),
          (msg(GOODBYE(1)), False)]
rc, err, peer = run(CHAIN_GOOD, script, '-v')
check(rc == 0, 'connect: full session with SUCCESS exits 0 (got %d: %s)' % (rc, err.strip()[-300:]))
a = peer.answers[0]
check(len(a) == 5 and not peer.errors, 'five answered messages (%d, %s)' % (len(a), peer.errors))
uid = None
if len(a) == 5:
    hello = fields(a[0][0][1])
    eps = [dict(fields(e)) for f, e in hello if f == 10]
    check([e[1] for e in eps] == [1, 50, 50, 11], 'hello endpoints AGENT, DS_FS x2, KS')
    check(eps[0].get(5) == bytes.fromhex('04080a1001'), 'AGENT additionalData announces requestCrl')
    check(a[1] == [(3, b'')], 'CRL answered with an empty AgentCrlResponse')
    x = [dict(fields(r[1]))[100] for r in a[2]]
    check(x[0] == b'\x90\x00', 'APDU: key generated in the SE')
    check(len(x[1]) == 69 and x[1][:3] == b'\x41\x41\x04' and x[1][-2:] == b'\x90\x00',
          'APDU: public key read back')
    check(x[2][-2:] == b'\x90\x00' and x[2][0] == 0x41 and x[2][1] == 18, 'APDU: UID read')
    uid = x[2][2:20].hex().upper()
    check(all(ds_ok(r) for r in a[3]) and all(ds_ok(r) for r in a[4][:2]),
          'datastore ALLOCATE, WRITE, WRITE, COMMIT answered OK')
    check(dict(fields(a[4][2][1])).get(10) == svc[:44], 'datastore READ returns the committed header')
cc = x509.load_der_x509_certificate(peer.certs[0]) if peer.certs and peer.certs[0] else None
check(cc is not None, 'the server received a client certificate')
if cc is not None:
    cn = cc.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    check(uid is not None and cn == uid, 'client certificate subject CN is the SE UID (%s / %s)' % (cn, uid))
    check(isinstance(cc.public_key(), ec.EllipticCurvePublicKey), 'EC client pair 0xF0000000/01 used')
check(peer.sni == ['localhost'], 'SNI carries the configured host (%s)' % peer.sni)
check(peer.clean == [True], 'the agent sent close_notify after the goodbye')
check('Overall status: 0x0001: SUCCESS' in err, 'report printed')
check('TLSv1.3' in err, 'TLS 1.3 negotiated by default')
p = subprocess.run([AG, '--dir', STATE, 'status'], capture_output=True, text=True)
check(p.returncode == 0 and 'SUCCESS' in p.stdout, '`status` shows the saved report')
p = subprocess.run([AG, '--dir', STATE, 'services'], capture_output=True, text=True)
check(p.returncode == 0 and 'service 101' in p.stdout, '`services` lists the descriptor written over TLS')
p = subprocess.run([AG, '--dir', STATE, 'settings'], capture_output=True, text=True)
check('hostname: localhost' in p.stdout and 'source: datastore' in p.stdout
      and 'from the datastore' in p.stdout,
      'connection datastore rewritten from --host (host, port, roots)')

# export of the provisioned service --------------------------------------------------
import base64, json
EX = T + '/export'
p = subprocess.run([AG, '--dir', STATE, '--se', SE, 'export', EX], capture_output=True, text=True)
check(p.returncode == 0 and 'exported 1 service' in p.stdout, 'export DIR: exit 0 (%d %s)' % (p.returncode, p.stderr))
try:
    js = json.load(open(EX + '/services.json'))
    kp = open(EX + '/service-101-key.pem').read()
    check(js[0]['key_uri'] == 'se05x:0xEF000020' and js[0]['key_file'] == 'service-101-key.pem'
          and js[0]['client_id'] == 'device-1' and js[0]['has_password'] is True,
          'services.json: URI, files, settings')
    check('not-exported' not in open(EX + '/services.json').read(), 'password not exported')
    der = base64.b64decode(''.join(l for l in kp.splitlines() if not l.startswith('-----')))
    check('BEGIN SE05X KEY REFERENCE' in kp and len(a) == 5 and a[2] and
          [dict(fields(r[1]))[100] for r in a[2]][1][2:67] in der,
          'key reference PEM holds the SE public key of 0xEF000020')
    check(open(EX + '/service-101-cert.pem', 'rb').read() == pem(root)
          and open(EX + '/service-101-ca.pem', 'rb').read() == pem(root),
          'certificate and CA PEMs exported')
except Exception as e:
    check(False, 'export files readable: %r' % e)

# 2. TLS 1.2 only server; --host without --ca: roots from the connection datastore ----
rc, err, peer = run(CHAIN_GOOD, [(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True), (msg(GOODBYE(1)), False)],
                    '-v', maxver=ssl.TLSVersion.TLSv1_2, ca=None)
check(rc == 0 and 'TLSv1.2' in err, 'TLS 1.2 session exits 0 (%d %s)' % (rc, err[-200:]))

# 3. CRL gate ---------------------------------------------------------------------
rc, err, peer = run(CHAIN_REVOKED, [(msg(HELLO), True), (msg(CRL(CRL_REVOKED)), True),
                                    (msg(apdu('80040000')), False)])
check(rc == 6 and 'revoked' in err, 'revoked server certificate: exit 6 (%d %s)' % (rc, err.strip()[-200:]))
rc, err, peer = run(CHAIN_GOOD, [(msg(HELLO), True), (msg(CRL(CRL_WRONG)), True)])
check(rc == 6, 'CRL from the wrong issuer: exit 6 (%d %s)' % (rc, err.strip()[-200:]))
rc, err, peer = run(CHAIN_GOOD, [(msg(HELLO), True), (msg(apdu('80040000')), False)])
check(rc == 5 and 'CRL' in err, 'APDU before the CRL: session ends, exit 5 (%d %s)' % (rc, err.strip()[-200:]))

# 4. cut mid-transaction: old contents stay ------------------------------------------
newsvc = store([fx64(1, 202) + ld(10, b'other.example')])
rc, err, peer = run(CHAIN_GOOD, [(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True),
                                 (msg(ds(1, None, len(newsvc)), ds(3, 0, None, newsvc[:50])), True),
                                 (None, False)])
check(rc == 5, 'session cut mid-transaction: exit 5 (%d %s)' % (rc, err.strip()[-200:]))
p = subprocess.run([AG, '--dir', STATE, 'services'], capture_output=True, text=True)
check('service 101' in p.stdout and '202' not in p.stdout, 'old datastore contents kept')

# 5. goodbye statuses -----------------------------------------------------------------
for st, want in ((0x35, 53), (0x40, 64), (0x51, 81), (0x00, 4), (0x99, 4)):
    rc, err, peer = run(CHAIN_GOOD, [(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True), (msg(GOODBYE(st)), False)])
    check(rc == want, 'goodbye status 0x%02x: exit %d (got %d)' % (st, want, rc))
p = subprocess.run([AG, '--dir', STATE, 'status'], capture_output=True, text=True)
check(p.returncode == 4, '`status` reports the last (error) report')

# 6. TLS failures ------------------------------------------------------------------------
rc, err, peer = run(CHAIN_UNTRUSTED, [(msg(HELLO), True)])
check(rc == 8 and 'untrusted server certificate' in err, 'untrusted server: exit 8 (%d %s)' % (rc, err.strip()))
rc, err, peer = run(CHAIN_WRONGNAME, [(msg(HELLO), True)])
check(rc == 9 and 'does not match the host name localhost' in err, 'host name mismatch: exit 9 (%d %s)' % (rc, err.strip()))
rc, err, peer = run(CHAIN_GOOD, [(msg(HELLO), True)], client_ca=OTHER_CA, maxver=ssl.TLSVersion.TLSv1_2)
check(rc == 10 and 'handshake' in err, 'client certificate refused by the server: exit 10 (%d %s)' % (rc, err.strip()))
s = socket.socket(); s.bind(('127.0.0.1', 0)); dead = s.getsockname()[1]; s.close()
rc, err = agent(port=dead)
check(rc == 7 and 'cannot connect' in err, 'nothing listening: exit 7 (%d %s)' % (rc, err.strip()))
rc, err = agent(port=dead, se='127.0.0.1:1')
check(rc == 11, 'SE unreachable: exit 11 (%d %s)' % (rc, err.strip()))
rc, err = agent(port=dead, ca=PKI + '/nothing.pem')
check(rc == 13 and 'nothing.pem' in err, 'unreadable --ca: exit 13 (%d %s)' % (rc, err.strip()))

# 7. environment settings rewrite the datastore; RSA pair from a datastore ------------------
peer = Peer(CHAIN_GOOD, [[(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True), (msg(GOODBYE(1)), False)]])
rc, err = agent(host=None, env={'EDGELOCK2GO_HOSTNAME': 'localhost', 'EDGELOCK2GO_PORT': str(peer.port)})
peer.join()
check(rc == 0, 'settings from the environment: exit 0 (%d %s)' % (rc, err.strip()[-200:]))
p = subprocess.run([AG, '--dir', STATE, 'settings'], capture_output=True, text=True)
check('port: %d' % peer.port in p.stdout and 'key: 0xf0000000' in p.stdout,
      'connection datastore rewritten from the environment')
peer = Peer(CHAIN_GOOD, [[(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True), (msg(GOODBYE(1)), False)]])
rsa_ds = store([fx64(1, 0) + ld(10, b'localhost') + vi(11, peer.port) + ld(21, rootder)
                + ld(50, ref(0xF0000005)) + ld(52, ref(0xF0000004))])
for i in (0, 1):
    fn = STATE + '/edgelock2go_datastore.bin.%d' % i
    if os.path.exists(fn): os.unlink(fn)
open(STATE + '/edgelock2go_datastore.bin.0', 'wb').write(rsa_ds)
rc, err = agent(host=None, ca=None)
peer.join()
check(rc == 0, 'RSA pair 0xF0000004/05 named by the datastore: exit 0 (%d %s)' % (rc, err.strip()[-200:]))
if peer.certs and peer.certs[0]:
    check(not isinstance(x509.load_der_x509_certificate(peer.certs[0]).public_key(),
                         ec.EllipticCurvePublicKey), 'the server saw the RSA certificate')
nokey = store([fx64(1, 0) + ld(10, b'localhost') + vi(11, dead) + ld(21, rootder)
               + ld(50, ref(0xF0001235)) + ld(52, ref(0xF0001234))])
for i in (0, 1):
    fn = STATE + '/edgelock2go_datastore.bin.%d' % i
    if os.path.exists(fn): os.unlink(fn)
open(STATE + '/edgelock2go_datastore.bin.0', 'wb').write(nokey)
rc, err = agent(host=None, ca=None)
check(rc == 12 and '0xF0001234' in err, 'no client key in the SE: exit 12 (%d %s)' % (rc, err.strip()))

# 8. --daemon: retry with backoff until SUCCESS ------------------------------------------------
bad = [(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True), (msg(GOODBYE(0x40)), False)]
goodsess = [(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True), (msg(GOODBYE(1)), False)]
peer = Peer(CHAIN_GOOD, [bad, [(None, False)], goodsess])
rc, err = agent('--daemon', '--max-tries', '5', '--backoff', '0.1', port=peer.port)
peer.join()
check(rc == 0 and err.count('retrying in') == 2 and '0.200 s' in err,
      'daemon: two failed sessions, then SUCCESS, backoff doubling (%d %s)' % (rc, err.strip()[-300:]))
rc, err = agent('--daemon', '--max-tries', '2', '--backoff', '0', port=dead)
check(rc == 7 and err.count('retrying in') == 1, 'daemon: --max-tries bounds the retries (%d)' % rc)
# 9. the se05x-sim daemon over JRCP -------------------------------------------------------
JRCP = os.environ['JRCP']
rc, err, peer = run(CHAIN_GOOD, [(msg(HELLO), True), (msg(CRL(CRL_GOOD)), True),
                                 (msg(apdu('80 02 00 00 00 00 06 41 04 7f ff 02 06 00 00')), True),
                                 (msg(GOODBYE(1)), False)],
                    client_ca=T + '/jse/factory-ca.pem', se=JRCP)
check(rc == 0, 'session with the SE on the se05x-sim daemon (%s): exit 0 (%d %s)' % (JRCP, rc, err.strip()[-200:]))
if len(peer.answers[0]) == 3 and peer.certs[0]:
    r = dict(fields(peer.answers[0][2][0][1]))[100]
    cn = x509.load_der_x509_certificate(peer.certs[0]).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    check(r[2:20].hex().upper() == cn and cn != uid, 'JRCP: client certificate CN is that card\'s UID')
else:
    check(False, 'JRCP: answers and certificate (%s)' % peer.errors)

os.mkdir(T + '/empty')
p = subprocess.run([AG, '--dir', T + '/empty', 'connect', '--se', SE], capture_output=True, text=True)
check(p.returncode == 13 and 'no EdgeLock 2GO host name' in p.stderr, 'no host configured: exit 13')
sys.exit(1 if fails else 0)
PY
