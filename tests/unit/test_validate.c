/*
 * The validator on a corpus of bad fleets (tests/corpus, one .case file each) and on
 * hostile inputs built here. Each case asserts the exact diagnostics:
 * file, line, column, severity, message and code.
 *
 * A case file holds the fleet's files and the expected diagnostics:
 *   # what it checks
 *   === fleet.yaml
 *   ...content...
 *   === devices/<id>.yaml [symlink|submodule]
 *   --- expect
 *   fleet.yaml:3:5: error: ... [code]
 *
 * `test_validate --print FILE.case` prints what the validator says, for
 * writing a new case (check every line by hand before pasting it in).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "fleet/diag.h"
#include "fleet/fleet.h"
#include "memsource.h"

struct corpus_case {
	char *path;
	struct source src;
	char *expect;
};

static char *slurp(const char *path)
{
	struct fg_buf b = FG_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	fg_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fg_buf_put(&b, chunk, n);
	fclose(f);
	return fg_buf_detach(&b);
}

static void add_file(struct source *src, const char *header, const struct fg_buf *content)
{
	char path[512];
	enum source_type type = SOURCE_FILE;
	const char *bracket = strchr(header, '[');
	size_t len = bracket ? (size_t)(bracket - header) : strlen(header);

	while (len && header[len - 1] == ' ')
		len--;
	snprintf(path, sizeof(path), "%.*s", (int)len, header);
	if (bracket && !strncmp(bracket, "[symlink]", 9))
		type = SOURCE_SYMLINK;
	else if (bracket && !strncmp(bracket, "[submodule]", 11))
		type = SOURCE_SUBMODULE;
	mem_add(src->ctx, path, content->ptr, content->len, type);
}

static int load_case(struct corpus_case *c, const char *path)
{
	char *text = slurp(path), *line, *save = NULL;
	struct fg_buf content = FG_BUF_INIT, expect = FG_BUF_INIT;
	char *header = NULL;
	int in_expect = 0;

	if (!text)
		return -1;
	c->path = fg_strdup(path);
	mem_source_init(&c->src);
	fg_buf_init(&content);
	fg_buf_init(&expect);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "=== ", 4) || !strcmp(line, "--- expect")) {
			if (header)
				add_file(&c->src, header, &content);
			free(header);
			header = NULL;
			fg_buf_reset(&content);
			if (!strcmp(line, "--- expect"))
				in_expect = 1;
			else
				header = fg_strdup(line + 4);
			continue;
		}
		if (in_expect) {
			fg_buf_puts(&expect, line);
			fg_buf_putc(&expect, '\n');
		} else if (header) {
			fg_buf_puts(&content, line);
			fg_buf_putc(&content, '\n');
		}
	}
	if (header)
		add_file(&c->src, header, &content);
	/* strtok_r skips empty lines: an empty "=== file" section stays empty. */
	free(header);
	fg_buf_release(&content);
	c->expect = fg_buf_detach(&expect);
	free(text);
	return 0;
}

static void free_case(struct corpus_case *c)
{
	source_release(&c->src);
	free(c->path);
	free(c->expect);
	free(c);
}

/* What the validator says about `src`, as text. */
static char *judge(const struct source *src, const struct fleet_load_options *opts)
{
	struct diags d;
	struct fleet *f = NULL;
	struct fg_buf out = FG_BUF_INIT;

	diags_init(&d);
	assert_int_equal(fleet_load(&f, src, opts, &d), 0);
	fg_buf_init(&out);
	diags_format_text(&d, &out);
	fleet_free(f);
	diags_release(&d);
	return fg_buf_detach(&out);
}

static void test_corpus_case(void **state)
{
	struct corpus_case *c = *state;
	char *got = judge(&c->src, NULL);

	if (strcmp(got, c->expect))
		print_error("%s\n--- expected:\n%s--- got:\n%s", c->path, c->expect, got);
	assert_string_equal(got, c->expect);
	assert_true(strstr(c->expect, "[") != NULL); /* every case expects something */
	free(got);
}

static int teardown_case(void **state)
{
	free_case(*state);
	return 0;
}

/* ---- hostile inputs built in code ---- */

static char *judge_fleet_yaml(const char *data, size_t len)
{
	struct source src;
	char *got;

	mem_source_init(&src);
	mem_add(src.ctx, "fleet.yaml", data, len, SOURCE_FILE);
	got = judge(&src, NULL);
	source_release(&src);
	return got;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_billion_laughs(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	char prev = 'a';
	char *got;
	double t0;
	int i, j;

	(void)state;
	fg_buf_init(&b);
	fg_buf_puts(&b, "fleet: 1\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
	for (i = 1; i < 9; i++) {
		char name = (char)('a' + i);

		fg_buf_printf(&b, "%c: &%c [", name, name);
		for (j = 0; j < 9; j++)
			fg_buf_printf(&b, "%s*%c", j ? "," : "", prev);
		fg_buf_puts(&b, "]\n");
		prev = name;
	}
	t0 = now();
	got = judge_fleet_yaml(b.ptr, b.len);
	assert_true(now() - t0 < 1.0);
	assert_string_equal(got, "fleet.yaml:8:8: error: aliases expand to more than 1000000 nodes [alias-bomb]\n");
	free(got);
	fg_buf_release(&b);
}

static void test_deep_nesting(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	char *got;
	double t0;
	int i;

	(void)state;
	fg_buf_init(&b);
	fg_buf_puts(&b, "fleet: 1\nconfig: ");
	for (i = 0; i < 10000; i++)
		fg_buf_putc(&b, '[');
	for (i = 0; i < 10000; i++)
		fg_buf_putc(&b, ']');
	fg_buf_putc(&b, '\n');
	t0 = now();
	got = judge_fleet_yaml(b.ptr, b.len);
	assert_true(now() - t0 < 1.0);
	assert_string_equal(got, "fleet.yaml:2:72: error: nesting deeper than 64 levels [too-deep]\n");
	free(got);
	fg_buf_release(&b);
}

static void test_ten_mib(void **state)
{
	size_t len = 10 * 1024 * 1024;
	char *data = fg_malloc(len);
	char *got;

	(void)state;
	memset(data, 'a', len);
	memcpy(data, "fleet: 1\nx: ", 12);
	got = judge_fleet_yaml(data, len);
	assert_string_equal(got, "fleet.yaml: error: file is larger than 1 MiB [too-large]\n");
	free(got);
	free(data);
}

static void test_binary(void **state)
{
	static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
	char *got;

	(void)state;
	got = judge_fleet_yaml(png, sizeof(png) - 1);
	assert_string_equal(got, "fleet.yaml:3:1: error: file contains a NUL byte: binary data is not YAML [binary]\n");
	free(got);
}

static void test_nul_byte(void **state)
{
	static const char text[] = "fleet: 1\nconfig:\n  a: b\0c\n";
	char *got;

	(void)state;
	got = judge_fleet_yaml(text, sizeof(text) - 1);
	assert_string_equal(got, "fleet.yaml:3:7: error: file contains a NUL byte: binary data is not YAML [binary]\n");
	free(got);
}

static void test_invalid_utf8(void **state)
{
	static const char text[] = "fleet: 1\nconfig:\n  kiosk_url: caf\xc3\x28\n";
	char *got;

	(void)state;
	got = judge_fleet_yaml(text, sizeof(text) - 1);
	assert_string_equal(got, "fleet.yaml:3:18: error: invalid trailing UTF-8 octet at byte offset 34 [encoding]\n");
	free(got);
}

static void test_utf8_bom_accepted(void **state)
{
	static const char text[] = "\xef\xbb\xbf" "fleet: 1\n";
	char *got;

	(void)state;
	got = judge_fleet_yaml(text, sizeof(text) - 1);
	assert_string_equal(got, "");
	free(got);
}

static void test_too_many_config_keys(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	char *got;
	int i;

	(void)state;
	fg_buf_init(&b);
	fg_buf_puts(&b, "fleet: 1\nconfig:\n");
	for (i = 0; i < 101; i++)
		fg_buf_printf(&b, "  key%d: v\n", i);
	got = judge_fleet_yaml(b.ptr, b.len);
	assert_string_equal(got, "fleet.yaml:3:3: error: config has 101 keys; Mender Configure accepts at most 100 per device [config-size]\n");
	free(got);
	fg_buf_release(&b);
}

/* A role over Mender's limit is an error at the role, however many keys,
 * and fast: 50,000 keys must not cost 50,000 comparisons each. */
static void test_too_many_role_keys(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	char *got;
	int i;

	(void)state;
	fg_buf_init(&b);
	fg_buf_puts(&b, "fleet: 1\nroles:\n  big:\n");
	for (i = 0; i < 50000; i++)
		fg_buf_printf(&b, "    k%x: v\n", i);
	got = judge_fleet_yaml(b.ptr, b.len);
	assert_string_equal(got, "fleet.yaml:4:5: error: role 'big' has 50000 keys; Mender Configure accepts at most 100 per device [config-size]\n");
	free(got);
	fg_buf_release(&b);
}

static void test_value_too_long(void **state)
{
	struct fg_buf b = FG_BUF_INIT;
	char *got;
	int i;

	(void)state;
	fg_buf_init(&b);
	fg_buf_puts(&b, "fleet: 1\nconfig:\n  motd: ");
	for (i = 0; i < 4097; i++)
		fg_buf_putc(&b, 'x');
	fg_buf_putc(&b, '\n');
	got = judge_fleet_yaml(b.ptr, b.len);
	assert_string_equal(got, "fleet.yaml:3:9: error: value of 'motd' is 4097 bytes; Mender accepts at most 4096 [config-value]\n");
	free(got);
	fg_buf_release(&b);
}

static void test_unknown_branch_warning(void **state)
{
	static char *branches[] = { "develop", "main" };
	static char *stages[] = { "staging" };
	struct fleet_load_options opts = { 1, branches, 2, stages, 1 };
	struct source src;
	char *got;
	static const char fleet[] = "fleet: 1\ndefault_branch: production\npromotion: [main, production]\n";
	static const char dev1[] = "subscribed_branch: develop\n";
	static const char dev2[] = "subscribed_branch: staging\n";
	static const char dev3[] = "subscribed_branch: feature/x\n";

	(void)state;
	mem_source_init(&src);
	mem_add(src.ctx, "fleet.yaml", fleet, strlen(fleet), SOURCE_FILE);
	mem_add(src.ctx, "devices/64f1c2a9e3b5d7f0a1c2e4b6.yaml", dev1, strlen(dev1), SOURCE_FILE);
	mem_add(src.ctx, "devices/0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40.yaml", dev2, strlen(dev2), SOURCE_FILE);
	mem_add(src.ctx, "devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml", dev3, strlen(dev3), SOURCE_FILE);
	got = judge(&src, &opts);
	assert_string_equal(got, "devices/a3e9d7c1-4b2f-4f6a-9e8d-7c1b5a3f2e90.yaml: warning: subscribed_branch 'feature/x' is neither a stage nor a branch of this repository [unknown-branch]\n");
	free(got);
	source_release(&src);
}

static void test_valid_fleet_model(void **state)
{
	static const char fleet[] =
		"fleet: 1\n"
		"default_branch: production\n"
		"promotion: [main, canary, production]\n"
		"os_images:\n  pi3-v3-arm64: img-1\n"
		"config:\n  a: 1.50\n  b: true\n  c: 'x'\n"
		"roles:\n  kiosk:\n    k: on\n";
	static const char dev[] = "name: k1\nsubscribed_branch: canary\nroles: [kiosk]\nconfig:\n  a: \"2\"\n";
	struct source src;
	struct fleet *f = NULL;
	struct diags d;
	const struct fleet_device *fd;

	(void)state;
	mem_source_init(&src);
	mem_add(src.ctx, "fleet.yaml", fleet, sizeof(fleet) - 1, SOURCE_FILE);
	mem_add(src.ctx, "devices/64f1c2a9e3b5d7f0a1c2e4b6.yaml", dev, sizeof(dev) - 1, SOURCE_FILE);
	diags_init(&d);
	assert_int_equal(fleet_load(&f, &src, NULL, &d), 0);
	assert_int_equal(d.count, 0);
	assert_int_equal(f->version, 1);
	assert_string_equal(f->default_branch, "production");
	assert_int_equal(f->npromotion, 3);
	assert_string_equal(f->promotion[1], "canary");
	assert_string_equal(f->os_attribute, "rootfs-image.version");
	assert_string_equal(fleet_map_get(&f->config, "a"), "1.50");
	assert_string_equal(fleet_map_get(&f->config, "b"), "true");
	assert_string_equal(fleet_map_get(&f->roles[0].config, "k"), "on");
	fd = fleet_find_device(f, "64f1c2a9e3b5d7f0a1c2e4b6");
	assert_non_null(fd);
	assert_string_equal(fd->name, "k1");
	assert_string_equal(fd->subscribed_branch, "canary");
	assert_int_equal(fd->nroles, 1);
	assert_string_equal(fleet_map_get(&fd->config, "a"), "2");
	assert_null(fleet_find_device(f, "0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40"));
	fleet_free(f);
	diags_release(&d);
	source_release(&src);
}

static void test_device_ids(void **state)
{
	(void)state;
	assert_true(fleet_device_id_valid("0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40"));
	assert_true(fleet_device_id_valid("64f1c2a9e3b5d7f0a1c2e4b6"));
	assert_false(fleet_device_id_valid("0B6C4F1E-7A2D-4E9B-B8C3-1F5A7D2E9C40"));
	assert_false(fleet_device_id_valid("0b6c4f1e7a2d4e9bb8c31f5a7d2e9c40"));
	assert_false(fleet_device_id_valid("64f1c2a9e3b5d7f0a1c2e4b"));
	assert_false(fleet_device_id_valid("64f1c2a9e3b5d7f0a1c2e4bg"));
	assert_false(fleet_device_id_valid(""));
}

static int print_case(const char *path)
{
	struct corpus_case *c = fg_calloc(1, sizeof(*c));
	char *got;

	if (load_case(c, path)) {
		fprintf(stderr, "cannot read %s\n", path);
		free(c);
		return 2;
	}
	got = judge(&c->src, NULL);
	fputs(got, stdout);
	free(got);
	free_case(c);
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_ten_mib),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_utf8_bom_accepted),
		cmocka_unit_test(test_too_many_config_keys),
		cmocka_unit_test(test_too_many_role_keys),
		cmocka_unit_test(test_value_too_long),
		cmocka_unit_test(test_unknown_branch_warning),
		cmocka_unit_test(test_valid_fleet_model),
		cmocka_unit_test(test_device_ids),
	};
	const char *top = getenv("FG_TOP");
	char *dir = fg_asprintf("%s/tests/corpus", top ? top : ".");
	struct CMUnitTest *tests;
	char **names = NULL;
	size_t n = 0, i, nfixed = sizeof(fixed) / sizeof(*fixed);
	struct dirent *de;
	DIR *dh;
	int failed;

	if (argc == 3 && !strcmp(argv[1], "--print")) {
		failed = print_case(argv[2]);
		free(dir);
		return failed;
	}
	dh = opendir(dir);
	if (!dh) {
		fprintf(stderr, "cannot open %s (set FG_TOP to the repository)\n", dir);
		free(dir);
		return 1;
	}
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);

		if (len > 5 && !strcmp(de->d_name + len - 5, ".case")) {
			names = fg_realloc(names, (n + 1) * sizeof(*names));
			names[n++] = fg_asprintf("%s/%s", dir, de->d_name);
		}
	}
	closedir(dh);
	qsort(names, n, sizeof(*names), name_cmp);
	tests = fg_calloc(n + nfixed, sizeof(*tests));
	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < n; i++) {
		struct corpus_case *c = fg_calloc(1, sizeof(*c));

		if (load_case(c, names[i])) {
			fprintf(stderr, "cannot read %s\n", names[i]);
			return 1;
		}
		tests[nfixed + i].name = strrchr(names[i], '/') + 1;
		tests[nfixed + i].test_func = test_corpus_case;
		tests[nfixed + i].initial_state = c;
		tests[nfixed + i].teardown_func = teardown_case;
	}
	failed = _cmocka_run_group_tests("validate", tests, n + nfixed, NULL, NULL);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	free(dir);
	return failed;
}
