/*
 * seal.h: the secrets box of cluster mode. A value that must not be
 * readable by whoever reads Redis (UCWA tokens, what renewing one needs,
 * desktop session secrets) is sealed with AES-256-GCM under the cluster
 * key, with a fresh random 96-bit nonce per value and the Redis key it is
 * stored under as associated data: a sealed value copied to another key,
 * tampered with, or opened with another key fails to open.
 *
 *   sealed = version (1 byte, 1) | nonce (12) | ciphertext | tag (16)
 *   associated data = version byte | the Redis key
 */
#ifndef UCGW_SEAL_H
#define UCGW_SEAL_H

#include <stddef.h>

#include "util.h"

#define SEAL_KEY_BYTES 32
#define SEAL_VERSION   1
#define SEAL_OVERHEAD  (1 + 12 + 16)

struct seal;

/* A box for one key (copied; wiped by seal_free). */
struct seal *seal_create(const unsigned char key[SEAL_KEY_BYTES]);
void seal_free(struct seal *);
/*
 * A key of its own for another use (label names it), derived from the
 * cluster key with HMAC-SHA256: the same on every node of the cluster.
 */
void seal_derive(const struct seal *, const char *label, unsigned char out[SEAL_KEY_BYTES]);
/* Append the sealed form of plain to out, bound to the Redis key name. */
void seal_seal(
    const struct seal *, const char *name, const void *plain, size_t len, struct buf *out);
/* Append the plain text to out; -1 with a static *why (out unchanged) if it does not open. */
int seal_open(const struct seal *, const char *name, const void *sealed, size_t len,
    struct buf *out, const char **why);

#endif
