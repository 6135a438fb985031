"""Minimal protobuf wire-format helpers for the integration tests that play
the EdgeLock 2GO device-link peer (el2go_session_stdio.sh, el2go_tls_peer.sh):
varints, length-delimited / varint / fixed64 fields, EndpointRequest and
varint-delimited message framing, and a field splitter for answers."""
import struct


def v(n):
    o = b''
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            o += bytes([b | 0x80])
        else:
            return o + bytes([b])


def ld(f, d): return v(f << 3 | 2) + v(len(d)) + d
def vi(f, n): return v(f << 3) + v(n)
def fx64(f, n): return v(f << 3 | 1) + struct.pack('<Q', n)
def req(t, i, p): return ld(1, vi(1, t) + vi(2, i) + ld(100, p))


def msg(*r):
    b = b''.join(r)
    return v(len(b)) + b


def rd_varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7f) << s
        s += 7
        if not c & 0x80:
            return r, i


def fields(b):
    i, out = 0, []
    while i < len(b):
        k, i = rd_varint(b, i)
        f, wt = k >> 3, k & 7
        if wt == 0:
            val, i = rd_varint(b, i)
        elif wt == 2:
            n, i = rd_varint(b, i)
            val = b[i:i + n]
            i += n
        elif wt == 5:
            val = b[i:i + 4]
            i += 4
        elif wt == 1:
            val = b[i:i + 8]
            i += 8
        else:
            raise ValueError('wire type %d' % wt)
        out.append((f, val))
    return out
