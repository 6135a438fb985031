#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_t1_frame, fuzz_t1_server and
fuzz_jrcp_decoder (run once from this folder; the binary seeds are
committed). Frame layouts: docs/virtual-i2c.md, docs/jrcp.md and the
input formats described at the top of each fuzz_*.c."""
import os
import struct


def crc_x25(data):
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def t1(nad, pcb, inf=b""):
    body = bytes([nad, pcb, len(inf)]) + inf
    return body + struct.pack("<H", crc_x25(body))


def write(target, name, data):
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, name), "wb") as f:
        f.write(data)


SELECT = bytes.fromhex("00A4040010A0000003965453000000010300000000")
ATR = bytes.fromhex("00A0000003960403E800FE0200")
H, S = 0x5A, 0xA5

# fuzz_t1_frame: single frames (both directions) and an ATR.
for name, data in {
    "i_select": t1(H, 0x00, SELECT),
    "i_chained": t1(H, 0x60, bytes(range(254))),
    "r_block": t1(H, 0x90),
    "r_error": t1(S, 0x81),
    "s_resync": t1(H, 0xC0),
    "s_wtx_req": t1(S, 0xC3, b"\x02"),
    "s_wtx_rsp": t1(H, 0xE3, b"\x02"),
    "s_ifs": t1(H, 0xC1, b"\xfe"),
    "s_atr_rsp": t1(S, 0xE7, ATR),
    "atr": ATR,
}.items():
    write("fuzz_t1_frame", name, data)


# fuzz_t1_server: operations (op 1 = frame write with CRC added by the
# harness: PCB, n, INF; op 3 = read one frame; op 2 = read n; op 0 = raw
# write; op 4 = record violation; op 7 = switch server).
def fw(pcb, inf=b""):
    return bytes([1, pcb, len(inf)]) + inf


RD = b"\x03"
long_apdu = bytes([0x80, 0x01, 0x00, 0x00, 0x00, 0x01, 0x2C]) + bytes(300)
for name, data in {
    "select": fw(0x00, SELECT) + RD,
    "resync": fw(0xC0) + RD,
    "wtx": fw(0xC3, b"\x01") + RD + fw(0xE3, b"\x01") + RD,
    "rblock": fw(0x00, SELECT) + RD + fw(0x90) + RD + fw(0x80) + RD,
    "chained": fw(0x20, long_apdu[:254]) + RD + fw(0x40, long_apdu[254:]) + RD
    + fw(0x90) + RD + fw(0x80) + RD,
    "s_blocks": fw(0xC1, b"\x10") + RD + fw(0xC7) + RD + fw(0xCF) + RD + fw(0xC6) + RD
    + fw(0xC2) + RD + fw(0xC5) + RD,
    "raw_bad_crc": b"\x00\x04" + bytes([H, 0x00, 0x00, 0x12, 0x34]) + b"\x02\x05" + RD,
    "violation": fw(0xC0) + b"\x04",
    # op 0x0F: switch to the server that sends WTX before every response
    "wtx_server": b"\x0f" + fw(0x00, SELECT) + RD + fw(0xE3, b"\x02") + RD + fw(0x40, SELECT)
    + RD + fw(0xE3, b"\x02") + RD,
}.items():
    write("fuzz_t1_server", name, data)


# fuzz_jrcp_decoder: limit selector, k split sizes, then the stream.
def jrcp(mty, payload=b"", nad=0):
    return bytes([mty, nad]) + struct.pack(">H", len(payload)) + payload


WAIT = jrcp(0x00, struct.pack(">I", 256))
APDU = jrcp(0x01, SELECT)
for name, data in {
    "wait_for_card": b"\x00\x00" + WAIT,
    "apdu": b"\x00\x00" + APDU,
    "split_1_3": b"\x00\x02\x01\x03" + WAIT + APDU + jrcp(0x03),
    "rapdu_atr": b"\x00\x03\x02\x00\x07" + jrcp(0x01, b"\x6f\x00") + jrcp(0x00, ATR),
    "oversized": b"\x04\x01\x05" + jrcp(0x01, b"\x00" * 40),
    "close_quit": b"\x00\x01\x04" + jrcp(0x03) + jrcp(0x50) + jrcp(0x04, b"x", nad=0x21),
}.items():
    write("fuzz_jrcp_decoder", name, data)
