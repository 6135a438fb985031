/* Encode-only use of the typed commands: a recording connection whose
 * transport captures every command APDU instead of sending it, and answers
 * 9000 (or a canned ReadECCurveList answer). Lets offline tools (rtp-make,
 * rtp-server's curve installation) get the exact APDU bytes of hostlib's
 * encoders (WriteECKey, WriteRSAKey, WriteBinary sequences, CreateECCurve
 * + SetECCurveParam) without an SE and without duplicating the encoders. */
#ifndef SE05X_RECORD_H
#define SE05X_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "se05x/conn.h"
#include "se05x/status.h"

typedef struct se05x_recorder se05x_recorder;

/* Open a recording connection that behaves like an applet of version
 * major.minor.0 (selects the 3.x / 7.x encodings). *rec gives access to
 * the recorded APDUs and stays valid until se05x_conn_close(*conn). The
 * SELECT itself is not recorded. */
se05x_status se05x_recorder_open(uint8_t major, uint8_t minor, se05x_conn **conn,
                                 se05x_recorder **rec);
/* Number of recorded command APDUs. */
size_t se05x_recorder_count(const se05x_recorder *r);
/* i-th recorded command APDU (pointer valid until the next record/clear). */
const uint8_t *se05x_recorder_get(const se05x_recorder *r, size_t i, size_t *len);
/* Forget the recorded APDUs (wiping them: they may hold key material). */
void se05x_recorder_clear(se05x_recorder *r);

#endif
