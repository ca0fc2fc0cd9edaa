/*
 * fleet_branch_name_valid(), the fleet layer's own check of git's branch
 * name rules, against libgit2's: every name over an alphabet of the bytes
 * the rules are about up to 6 bytes long, every byte in every place, long
 * names, and random ones (one difference, DEL: see same()). libgit2 is
 * the reference here only; the product's
 * fleet layer does not link it (scripts/check-layers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "fleet/fleet.h"

/* libgit2's verdict: git_branch_name_is_valid, and git_reference_name_is_valid
 * of refs/heads/<name> where the branch rules add nothing. */
static int git_says(const char *name)
{
	char ref[2048];
	int valid = -1, ref_valid = -1;

	assert_int_equal(git_branch_name_is_valid(&valid, name), 0);
	if (name[0] != '-' && strcmp(name, "HEAD") && strlen(name) < sizeof(ref) - 12) {
		snprintf(ref, sizeof(ref), "refs/heads/%s", name);
		assert_int_equal(git_reference_name_is_valid(&ref_valid, ref), 0);
		assert_int_equal(ref_valid, valid);
	}
	return valid;
}

static size_t compared;

/* libgit2 1.5 lets DEL (0x7f) through; git refuses it ("no ASCII control
 * characters, bytes lower than \040 or \177 DEL", git-check-ref-format(1);
 * `git check-ref-format --branch` exits 128), and so do we. */
static void same(const char *name)
{
	int mine = fleet_branch_name_valid(name);
	int theirs = strchr(name, 0x7f) ? 0 : git_says(name);

	if (mine != theirs)
		fail_msg("'%s': fleet_branch_name_valid says %d, libgit2 %d", name, mine, theirs);
	compared++;
}

/* Every name of 0 to 6 bytes over the bytes the rules turn on. */
static void test_every_short_name(void **state)
{
	static const char alphabet[] = "a./@{-Hk";
	const size_t k = sizeof(alphabet) - 1;
	char name[8];
	size_t len, n, total, i;

	(void)state;
	for (len = 0; len <= 6; len++) {
		for (total = 1, i = 0; i < len; i++)
			total *= k;
		for (n = 0; n < total; n++) {
			size_t v = n;

			for (i = 0; i < len; i++, v /= k)
				name[i] = alphabet[v % k];
			name[len] = '\0';
			same(name);
		}
	}
}

/* Every byte alone, first, inside, last, and beside each separator. */
static void test_every_byte_everywhere(void **state)
{
	static const char *const shapes[] = { "%c", "%cab", "a%cb", "ab%c", "a/%c", "%c/a",
					      "a.%c", "%c.a", "a@%c", "a%c{" };
	char name[16];
	size_t i;
	int c;

	(void)state;
	for (c = 1; c < 256; c++) {
		for (i = 0; i < sizeof(shapes) / sizeof(*shapes); i++) {
			snprintf(name, sizeof(name), shapes[i], c);
			same(name);
		}
	}
}

/* The words of the rules, in every part of a name. */
static void test_rule_words(void **state)
{
	static const char *const names[] = {
		"HEAD", "HEAD/x", "x/HEAD", "head", "-x", "x-", "x/-y", "@", "@/x", "x/@", "a@b",
		"x.lock", "x.lock/y", "y/x.lock", ".lock", "x.lockx", "x.LOCK", "x..lock", "a.lock.b",
		"x.", "x./y", ".x", "x/.y", "x//y", "/x", "x/", "x/./y", "x/../y", "@{", "x@{y",
		"x@y{", "a{b}", "main", "feature/login-v2", "release/2024.06", "ü/ß", "x\xff",
		"x\xc3\x28",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(*names); i++)
		same(names[i]);
}

/* Long names: no length limit that one side has and the other has not. */
static void test_long_names(void **state)
{
	static const size_t lengths[] = { 255, 256, 1000, 1010, 1024, 1100, 2000 };
	char name[2048 + 1];
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(lengths) / sizeof(*lengths); i++) {
		memset(name, 'a', lengths[i]);
		name[lengths[i]] = '\0';
		for (k = 50; k < lengths[i]; k += 50)
			name[k] = '/';
		same(name);
	}
}

/* Random names over a wider alphabet, from a fixed seed. */
static void test_random_names(void **state)
{
	static const char alphabet[] = "ab./@{}-~^:?*[\\ \t\x7f\x80lockHEAD";
	unsigned long seed = 12;
	char name[16];
	size_t n, len, i;

	(void)state;
	for (n = 0; n < 200000; n++) {
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		len = (seed >> 33) % sizeof(name);
		for (i = 0; i < len; i++) {
			seed = seed * 6364136223846793005UL + 1442695040888963407UL;
			name[i] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
		}
		name[len] = '\0';
		same(name);
	}
	print_message("compared %zu names with libgit2\n", compared);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_short_name),
		cmocka_unit_test(test_every_byte_everywhere),
		cmocka_unit_test(test_rule_words),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_random_names),
	};
	int failed;

	git_libgit2_init();
	failed = cmocka_run_group_tests_name("branch_name", tests, NULL, NULL);
	git_libgit2_shutdown();
	return failed;
}
