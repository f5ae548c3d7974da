/*
 * test_seal.c: unit tests of seal.c: a sealed value opens with the same
 * key under the same Redis key, and fails to open when any byte is
 * altered, with another cluster key, under another Redis key, truncated,
 * or with an unknown version; nonces differ from value to value; derived
 * keys are the same per cluster key and label.
 */
#include <string.h>

#include <openssl/evp.h>

#include "seal.h"
#include "unit.h"

static const unsigned char key_a[32] = "0123456789abcdef0123456789abcde";
static const unsigned char key_b[32] = "0123456789abcdef0123456789abcdX";

START_TEST(test_round_trip)
{
	struct seal *s = seal_create(key_a);
	struct buf sealed, plain;
	const char *why = NULL;
	const char *secret = "access_token=cwt=AAEBHAEFAAAAAAAFFQAAAB; refresh=xyz";

	buf_init(&sealed);
	buf_init(&plain);
	seal_seal(s, "ucgw:agent:alice", secret, strlen(secret), &sealed);
	ck_assert_uint_eq(sealed.len, strlen(secret) + SEAL_OVERHEAD);
	ck_assert_int_eq((unsigned char)sealed.data[0], SEAL_VERSION);
	/* The plain text is not in the sealed value. */
	ck_assert_ptr_null(memmem(sealed.data, sealed.len, "access_token", 12));
	ck_assert_int_eq(
	    seal_open(s, "ucgw:agent:alice", sealed.data, sealed.len, &plain, &why), 0);
	ck_assert_uint_eq(plain.len, strlen(secret));
	ck_assert_str_eq(plain.data, secret);
	buf_free(&sealed);
	buf_free(&plain);
	seal_free(s);
}
END_TEST

START_TEST(test_empty_value)
{
	struct seal *s = seal_create(key_a);
	struct buf sealed, plain;
	const char *why = NULL;

	buf_init(&sealed);
	buf_init(&plain);
	seal_seal(s, "k", "", 0, &sealed);
	ck_assert_uint_eq(sealed.len, SEAL_OVERHEAD);
	ck_assert_int_eq(seal_open(s, "k", sealed.data, sealed.len, &plain, &why), 0);
	ck_assert_uint_eq(plain.len, 0);
	buf_free(&sealed);
	buf_free(&plain);
	seal_free(s);
}
END_TEST

START_TEST(test_every_altered_byte_fails)
{
	struct seal *s = seal_create(key_a);
	struct buf sealed, plain;
	const char *why;
	const char *secret = "password=hunter2";

	buf_init(&sealed);
	seal_seal(s, "ucgw:k", secret, strlen(secret), &sealed);
	for (size_t i = 0; i < sealed.len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			buf_init(&plain);
			why = NULL;
			sealed.data[i] ^= (char)(1 << bit);
			ck_assert_int_eq(
			    seal_open(s, "ucgw:k", sealed.data, sealed.len, &plain, &why), -1);
			ck_assert_ptr_nonnull(why);
			ck_assert_uint_eq(plain.len, 0);
			sealed.data[i] ^= (char)(1 << bit);
			buf_free(&plain);
		}
	}
	/* Unaltered, it still opens: the failures above came from the changes. */
	buf_init(&plain);
	ck_assert_int_eq(seal_open(s, "ucgw:k", sealed.data, sealed.len, &plain, &why), 0);
	buf_free(&plain);
	buf_free(&sealed);
	seal_free(s);
}
END_TEST

START_TEST(test_wrong_key_fails)
{
	struct seal *a = seal_create(key_a), *b = seal_create(key_b);
	struct buf sealed, plain;
	const char *why = NULL;

	buf_init(&sealed);
	buf_init(&plain);
	seal_seal(a, "ucgw:k", "secret", 6, &sealed);
	ck_assert_int_eq(seal_open(b, "ucgw:k", sealed.data, sealed.len, &plain, &why), -1);
	ck_assert_str_eq(why,
	    "sealed value does not open (another cluster key, altered, or stored under another "
	    "Redis key)");
	ck_assert_uint_eq(plain.len, 0);
	buf_free(&sealed);
	buf_free(&plain);
	seal_free(a);
	seal_free(b);
}
END_TEST

START_TEST(test_moved_to_another_redis_key_fails)
{
	struct seal *s = seal_create(key_a);
	struct buf sealed, plain;
	const char *why = NULL;

	buf_init(&sealed);
	buf_init(&plain);
	seal_seal(s, "ucgw:agent:alice:token", "tok", 3, &sealed);
	ck_assert_int_eq(
	    seal_open(s, "ucgw:agent:bob:token", sealed.data, sealed.len, &plain, &why), -1);
	ck_assert_int_eq(
	    seal_open(s, "ucgw:agent:alice:token ", sealed.data, sealed.len, &plain, &why), -1);
	ck_assert_int_eq(seal_open(s, "", sealed.data, sealed.len, &plain, &why), -1);
	ck_assert_int_eq(
	    seal_open(s, "ucgw:agent:alice:token", sealed.data, sealed.len, &plain, &why), 0);
	ck_assert_str_eq(plain.data, "tok");
	buf_free(&sealed);
	buf_free(&plain);
	seal_free(s);
}
END_TEST

START_TEST(test_short_and_unknown_version)
{
	struct seal *s = seal_create(key_a);
	struct buf sealed, plain;
	const char *why = NULL;

	buf_init(&sealed);
	buf_init(&plain);
	seal_seal(s, "k", "abc", 3, &sealed);
	for (size_t n = 0; n < SEAL_OVERHEAD; n++) {
		ck_assert_int_eq(seal_open(s, "k", sealed.data, n, &plain, &why), -1);
		ck_assert_str_eq(why, "sealed value too short");
	}
	/* Dropping the last byte (of the tag) does not open either. */
	ck_assert_int_eq(seal_open(s, "k", sealed.data, sealed.len - 1, &plain, &why), -1);
	sealed.data[0] = 2;
	ck_assert_int_eq(seal_open(s, "k", sealed.data, sealed.len, &plain, &why), -1);
	ck_assert_str_eq(why, "sealed value of an unknown version");
	ck_assert_uint_eq(plain.len, 0);
	buf_free(&sealed);
	buf_free(&plain);
	seal_free(s);
}
END_TEST

START_TEST(test_fresh_nonce_per_value)
{
	struct seal *s = seal_create(key_a);
	struct buf x, y;

	buf_init(&x);
	buf_init(&y);
	seal_seal(s, "k", "same", 4, &x);
	seal_seal(s, "k", "same", 4, &y);
	ck_assert_uint_eq(x.len, y.len);
	/* Nonces (bytes 1..12) differ, so the ciphertexts differ too. */
	ck_assert_int_ne(memcmp(x.data + 1, y.data + 1, 12), 0);
	ck_assert_int_ne(memcmp(x.data + 13, y.data + 13, x.len - 13), 0);
	buf_free(&x);
	buf_free(&y);
	seal_free(s);
}
END_TEST

/* A derived key is the same for the same cluster key and label, another for another of either. */
START_TEST(test_derive)
{
	struct seal *a1 = seal_create(key_a), *a2 = seal_create(key_a), *b = seal_create(key_b);
	unsigned char x[SEAL_KEY_BYTES], y[SEAL_KEY_BYTES], z[SEAL_KEY_BYTES], w[SEAL_KEY_BYTES];

	seal_derive(a1, "ucgw csrf token v1", x);
	seal_derive(a2, "ucgw csrf token v1", y);
	seal_derive(b, "ucgw csrf token v1", z);
	seal_derive(a1, "another use", w);
	ck_assert_mem_eq(x, y, sizeof x);
	ck_assert(memcmp(x, z, sizeof x) != 0);
	ck_assert(memcmp(x, w, sizeof x) != 0);
	ck_assert(memcmp(x, key_a, sizeof x) != 0);
	seal_free(a1);
	seal_free(a2);
	seal_free(b);
}
END_TEST

START_TEST(test_known_answer)
{
	/* The layout is plain AES-256-GCM: opening by hand with EVP gives the text back. */
	struct seal *s = seal_create(key_a);
	struct buf sealed;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char out[16], ver = SEAL_VERSION;
	const char *name = "ucgw:x";
	int n = 0, m = 0;

	buf_init(&sealed);
	seal_seal(s, name, "hello", 5, &sealed);
	ck_assert_int_eq(EVP_DecryptInit_ex(
			     ctx, EVP_aes_256_gcm(), NULL, key_a, (unsigned char *)sealed.data + 1),
	    1);
	ck_assert_int_eq(EVP_DecryptUpdate(ctx, NULL, &n, &ver, 1), 1);
	ck_assert_int_eq(
	    EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)name, (int)strlen(name)), 1);
	ck_assert_int_eq(EVP_DecryptUpdate(ctx, out, &n, (unsigned char *)sealed.data + 13, 5), 1);
	ck_assert_int_eq(
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (unsigned char *)sealed.data + 18),
	    1);
	ck_assert_int_eq(EVP_DecryptFinal_ex(ctx, out + n, &m), 1);
	ck_assert_int_eq(memcmp(out, "hello", 5), 0);
	EVP_CIPHER_CTX_free(ctx);
	buf_free(&sealed);
	seal_free(s);
}
END_TEST

static Suite *
seal_suite(void)
{
	Suite *s = suite_create("seal");

	UNIT_ADD(s, test_round_trip);
	UNIT_ADD(s, test_derive);
	UNIT_ADD(s, test_empty_value);
	UNIT_ADD(s, test_every_altered_byte_fails);
	UNIT_ADD(s, test_wrong_key_fails);
	UNIT_ADD(s, test_moved_to_another_redis_key_fails);
	UNIT_ADD(s, test_short_and_unknown_version);
	UNIT_ADD(s, test_fresh_nonce_per_value);
	UNIT_ADD(s, test_known_answer);
	return s;
}

UNIT_MAIN(seal_suite)
