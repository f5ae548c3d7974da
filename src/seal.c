/*
 * seal.c: AES-256-GCM through OpenSSL's EVP interface (see seal.h). The
 * nonce comes from the CSPRNG; with 96 random bits per value, a key may
 * seal up to 2^32 values before a repeated nonce becomes a real risk.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "seal.h"

#define SEAL_NONCE 12
#define SEAL_TAG   16

struct seal {
	unsigned char key[SEAL_KEY_BYTES];
};

/* A key for label, derived from the cluster key (see seal.h). */
void
seal_derive(const struct seal *s, const char *label, unsigned char out[SEAL_KEY_BYTES])
{
	unsigned int n = SEAL_KEY_BYTES;

	if (HMAC(EVP_sha256(), s->key, SEAL_KEY_BYTES, (const unsigned char *)label, strlen(label),
		out, &n) == NULL ||
	    n != SEAL_KEY_BYTES)
		abort();
}

/* Keep a copy of the key. */
struct seal *
seal_create(const unsigned char key[SEAL_KEY_BYTES])
{
	struct seal *s = xcalloc(1, sizeof *s);

	memcpy(s->key, key, SEAL_KEY_BYTES);
	return s;
}

/* Wipe the key and free. */
void
seal_free(struct seal *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s->key, sizeof s->key);
	free(s);
}

/* Feed the associated data (version byte, then the Redis key) to ctx. */
static int
seal_aad(EVP_CIPHER_CTX *ctx, unsigned char version, const char *name)
{
	int n;

	return EVP_CipherUpdate(ctx, NULL, &n, &version, 1) == 1 &&
	    EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)name, (int)strlen(name)) == 1;
}

/* Seal plain for the Redis key name; appends version | nonce | ciphertext | tag. */
void
seal_seal(const struct seal *s, const char *name, const void *plain, size_t len, struct buf *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char *p;
	int n = 0, m = 0;

	if (ctx == NULL || len > (size_t)1 << 30)
		abort();
	buf_reserve(out, out->len + len + SEAL_OVERHEAD + 1);
	p = (unsigned char *)out->data + out->len;
	p[0] = SEAL_VERSION;
	util_random_bytes(p + 1, SEAL_NONCE);
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, s->key, p + 1) != 1 || !seal_aad(ctx, p[0], name) ||
	    EVP_EncryptUpdate(ctx, p + 1 + SEAL_NONCE, &n, plain, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, p + 1 + SEAL_NONCE + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, p + 1 + SEAL_NONCE + n + m) !=
		1)
		abort(); /* OpenSSL cannot fail here but for lack of memory */
	EVP_CIPHER_CTX_free(ctx);
	out->len += 1 + SEAL_NONCE + (size_t)(n + m) + SEAL_TAG;
	out->data[out->len] = '\0';
}

/* Open a sealed value of the Redis key name; -1 with *why if it does not open. */
int
seal_open(const struct seal *s, const char *name, const void *sealed, size_t len, struct buf *out,
    const char **why)
{
	const unsigned char *p = sealed;
	EVP_CIPHER_CTX *ctx;
	unsigned char tag[SEAL_TAG];
	size_t clen;
	int n = 0, m = 0, ok;
	unsigned char *dst;

	if (len < SEAL_OVERHEAD) {
		*why = "sealed value too short";
		return -1;
	}
	if (p[0] != SEAL_VERSION) {
		*why = "sealed value of an unknown version";
		return -1;
	}
	clen = len - SEAL_OVERHEAD;
	memcpy(tag, p + len - SEAL_TAG, SEAL_TAG);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		abort();
	buf_reserve(out, out->len + clen + 1);
	dst = (unsigned char *)out->data + out->len;
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) == 1 &&
	    EVP_DecryptInit_ex(ctx, NULL, NULL, s->key, p + 1) == 1 && seal_aad(ctx, p[0], name) &&
	    EVP_DecryptUpdate(ctx, dst, &n, p + 1 + SEAL_NONCE, (int)clen) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) == 1 &&
	    EVP_DecryptFinal_ex(ctx, dst + n, &m) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(dst, clen);
		out->data[out->len] = '\0';
		*why = "sealed value does not open (another cluster key, altered, or stored under "
		       "another Redis key)";
		return -1;
	}
	out->len += (size_t)(n + m);
	out->data[out->len] = '\0';
	return 0;
}
