/* el2go common definitions: the status codes every el2go_ function returns,
 * the protocol constants of the EdgeLock 2GO device link (spec §2, §4, §5)
 * and the size limits this agent enforces. */
#ifndef EL2GO_COMMON_H
#define EL2GO_COMMON_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    EL2GO_OK = 0,
    EL2GO_ERR_ARG,       /* invalid argument from the caller */
    EL2GO_ERR_NOMEM,     /* allocation failed */
    EL2GO_ERR_EOF,       /* the peer closed the stream at a message boundary */
    EL2GO_ERR_IO,        /* stream or file I/O failure, or EOF inside a message */
    EL2GO_ERR_TOO_LARGE, /* a message, datastore or buffer exceeds its limit */
    EL2GO_ERR_DECODE,    /* malformed varint or protobuf */
    EL2GO_ERR_PROTOCOL,  /* request not allowed here (CRL gate, bad datastore op, ...) */
    EL2GO_ERR_ENDPOINT,  /* unknown endpoint or payload for an endpoint */
    EL2GO_ERR_CRL,       /* the CRL did not verify the server chain */
    EL2GO_ERR_STATE,     /* call not valid in the current state */
    EL2GO_ERR_NOT_FOUND, /* no such service / object / file */
    EL2GO_ERR_INVALID,   /* datastore contents invalid (header, checksum, descriptor) */
    EL2GO_ERR_SE,        /* the secure element refused or could not be reached */
    EL2GO_ERR_CRYPTO,    /* libcrypto failure */
    EL2GO_ERR_UNSUPPORTED,
} el2go_status;

const char *el2go_strerror(el2go_status st);

/* Agent version sent in the hello response: ((major*256)+minor)*256+patch.
 * We announce the protocol level of the reference agent we are compatible
 * with (6.4.1), see docs/agent.md. */
#define EL2GO_AGENT_VERSION 0x00060401u
/* Version of every endpoint implementation (spec §2.4). */
#define EL2GO_ENDPOINT_VERSION 0x00010000u

#define EL2GO_DATASTORE_ID 0x70000000u /* EdgeLock 2GO connection datastore */
#define EL2GO_KEYSTORE_ID 0x70000010u  /* SE05x keystore endpoint */
#define EL2GO_CLAIMCODE_ID 0xF00000E0u /* claim code binary object */
#define EL2GO_KEY_ECC 0xF0000000u
#define EL2GO_CERT_ECC 0xF0000001u
#define EL2GO_KEY_RSA 0xF0000004u
#define EL2GO_CERT_RSA 0xF0000005u
#define EL2GO_AUTH_USER_PROD 0xF0000020u
#define EL2GO_AUTH_USER_DEMO 0xF0000021u

/* Responses to one incoming message must fit this buffer (spec §2.1). */
#define EL2GO_RESPONSE_BUFFER 4096u
/* What we announce for requests (spec §2.4): INT32_MAX. */
#define EL2GO_REQUEST_BUFFER 0x7FFFFFFFu
/* Our own bound on one incoming message (the protocol has none). */
#define EL2GO_MAX_REQUEST_DEFAULT (16u * 1024u * 1024u)
/* Largest datastore an ALLOCATE may ask for. */
#define EL2GO_DS_MAX_SIZE (1u * 1024u * 1024u)
/* Registered datastores besides the connection datastore: with AGENT, the
 * connection datastore and the keystore at most 5 endpoints, the
 * reference's max_count for AgentHelloResponse.endpoints (spec §1.9). */
#define EL2GO_MAX_DATASTORES 2
#define EL2GO_MAX_ENDPOINTS (3 + EL2GO_MAX_DATASTORES)

#define EL2GO_DEFAULT_PORT 443u
#ifndef EL2GO_DEFAULT_HOSTNAME
#define EL2GO_DEFAULT_HOSTNAME ""
#endif

#endif
