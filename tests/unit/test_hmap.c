/* test_hmap.c: unit tests of hmap.c: put/get/del, growth, tombstones. */
#include <stdio.h>
#include <string.h>

#include "hmap.h"
#include "unit.h"

START_TEST(test_put_get_replace_del)
{
	struct hmap *m = hmap_create();
	int a = 1, b = 2;

	ck_assert_ptr_null(hmap_put(m, "k", &a));
	ck_assert_ptr_eq(hmap_get(m, "k"), &a);
	ck_assert_ptr_eq(hmap_put(m, "k", &b), &a);
	ck_assert_ptr_eq(hmap_get(m, "k"), &b);
	ck_assert_uint_eq(hmap_count(m), 1);
	ck_assert_ptr_eq(hmap_del(m, "k"), &b);
	ck_assert_ptr_null(hmap_get(m, "k"));
	ck_assert_ptr_null(hmap_del(m, "k"));
	ck_assert_uint_eq(hmap_count(m), 0);
	hmap_free(m);
}
END_TEST

START_TEST(test_many_keys_survive_growth)
{
	struct hmap *m = hmap_create();
	static int vals[20000];
	char key[32];

	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		hmap_put(m, key, &vals[i]);
	}
	ck_assert_uint_eq(hmap_count(m), 20000);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof key, "key-%d", i);
		ck_assert_ptr_eq(hmap_get(m, key), &vals[i]);
	}
	ck_assert_ptr_null(hmap_get(m, "key-20000"));
	hmap_free(m);
}
END_TEST

START_TEST(test_churn_with_tombstones)
{
	struct hmap *m = hmap_create();
	int v = 0;
	char key[32];

	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 50; i++) {
			snprintf(key, sizeof key, "r%d-%d", round, i);
			hmap_put(m, key, &v);
		}
		for (int i = 0; i < 50; i++) {
			snprintf(key, sizeof key, "r%d-%d", round, i);
			ck_assert_ptr_eq(hmap_del(m, key), &v);
		}
	}
	ck_assert_uint_eq(hmap_count(m), 0);
	hmap_put(m, "last", &v);
	ck_assert_ptr_eq(hmap_get(m, "last"), &v);
	hmap_free(m);
}
END_TEST

static void
count_cb(const char *key, void *value, void *arg)
{
	(*(int *)arg) += *(int *)value;
}

START_TEST(test_each_visits_every_entry_once)
{
	struct hmap *m = hmap_create();
	int one = 1, sum = 0;
	char key[16];

	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof key, "%d", i);
		hmap_put(m, key, &one);
	}
	hmap_del(m, "50");
	hmap_each(m, count_cb, &sum);
	ck_assert_int_eq(sum, 99);
	hmap_free(m);
}
END_TEST

/* The stable hash, whole or in pieces: FNV-1a 64, folded (stored change marks depend on it). */
START_TEST(test_fnv_pieces_equal_whole)
{
	const char whole[] = "message\x1f"
			     "completed\x1e";
	uint64_t h = HMAP_FNV_START;

	ck_assert_uint_eq(hmap_hash_len(whole, sizeof whole - 1), 0x4b9c158f6032016ULL);
	h = hmap_fnv(h, "message", 7);
	h = hmap_fnv(h, "\x1f", 1);
	h = hmap_fnv(h, "", 0);
	h = hmap_fnv(h, "completed\x1e", 10);
	ck_assert_uint_eq(hmap_fnv_end(h), hmap_hash_len(whole, sizeof whole - 1));
}
END_TEST

static Suite *
hmap_suite(void)
{
	Suite *s = suite_create("hmap");

	UNIT_ADD(s, test_put_get_replace_del);
	UNIT_ADD(s, test_many_keys_survive_growth);
	UNIT_ADD(s, test_churn_with_tombstones);
	UNIT_ADD(s, test_each_visits_every_entry_once);
	UNIT_ADD(s, test_fnv_pieces_equal_whole);
	return s;
}

UNIT_MAIN(hmap_suite)
