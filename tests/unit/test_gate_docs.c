/*
 * The pipeline snippets of docs/gate.md are YAML that GitLab and the
 * Actions runners will read: each must parse (through lib/ydoc, the
 * project's YAML reader) and hold the settings the gate depends on. The
 * e2e suite (tests/e2e/gate.bats) runs their command lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/buf.h"
#include "fleet/diag.h"
#include "fleet/ydoc.h"

static char *docs;

static int read_docs(void **state)
{
	const char *top = getenv("FG_TOP");
	struct fg_buf b = FG_BUF_INIT;
	char *path, chunk[4096];
	size_t n;
	FILE *f;

	(void)state;
	if (!top) {
		fprintf(stderr, "FG_TOP is not set: run through tests/run-all\n");
		return -1;
	}
	path = fg_asprintf("%s/docs/gate.md", top);
	f = fopen(path, "rb");
	free(path);
	if (!f)
		return -1;
	fg_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fg_buf_put(&b, chunk, n);
	fclose(f);
	docs = fg_buf_detach(&b);
	return 0;
}

static int free_docs(void **state)
{
	(void)state;
	free(docs);
	return 0;
}

/* Parse the ```yaml block that follows "<!-- ci-snippet: NAME -->". */
static struct ydoc *snippet(const char *name)
{
	char *marker = fg_asprintf("<!-- ci-snippet: %s -->\n```yaml\n", name);
	const char *start = strstr(docs, marker), *end;
	struct ydoc *doc = NULL;
	struct diags diags;

	assert_non_null(start);
	start += strlen(marker);
	free(marker);
	end = strstr(start, "\n```\n");
	assert_non_null(end);
	diags_init(&diags);
	assert_int_equal(ydoc_parse(&doc, start, (size_t)(end - start) + 1, name, &diags), 0);
	if (diags.count) {
		struct fg_buf text = FG_BUF_INIT;

		fg_buf_init(&text);
		diags_format_text(&diags, &text);
		print_error("%s", text.ptr);
		fg_buf_release(&text);
	}
	assert_int_equal(diags.count, 0);
	diags_release(&diags);
	assert_non_null(doc);
	assert_non_null(doc->root);
	return doc;
}

/* The node at a path of mapping keys ("artifacts/reports/junit"). */
static const struct ynode *at(const struct ynode *node, const char *path)
{
	char *copy = fg_strdup(path), *key, *save = NULL;

	for (key = strtok_r(copy, "/", &save); key && node; key = strtok_r(NULL, "/", &save))
		node = node->type == YNODE_MAPPING ? ynode_get(node, key) : NULL;
	free(copy);
	return node;
}

static const char *scalar(const struct ynode *node, const char *path)
{
	const struct ynode *n = at(node, path);

	if (!n || n->type != YNODE_SCALAR) {
		print_error("no scalar at '%s'\n", path);
		return "";
	}
	return n->value;
}

static const struct ynode *item(const struct ynode *seq, size_t i)
{
	assert_non_null(seq);
	assert_int_equal(seq->type, YNODE_SEQUENCE);
	assert_true(i < seq->count);
	return seq->items[i];
}

static void test_gitlab_job(void **state)
{
	struct ydoc *doc = snippet("gitlab");
	const struct ynode *job = at(doc->root, "fleetgate-gate");

	(void)state;
	assert_non_null(job);
	assert_string_equal(scalar(item(at(job, "rules"), 0), "if"),
			    "$CI_PIPELINE_SOURCE == \"merge_request_event\"");
	assert_string_equal(scalar(job, "variables/GIT_DEPTH"), "0");
	assert_int_equal(item(at(job, "script"), 0)->type, YNODE_SCALAR);
	assert_int_equal(at(job, "script")->count, 1);
	assert_string_equal(item(at(job, "script"), 0)->value,
			    "fleetgate gate --junit gate.xml --codequality gate-cq.json");
	assert_string_equal(scalar(job, "artifacts/when"), "always");
	assert_string_equal(scalar(job, "artifacts/reports/junit"), "gate.xml");
	assert_string_equal(scalar(job, "artifacts/reports/codequality"), "gate-cq.json");
	assert_string_equal(scalar(job, "image"), "$CI_REGISTRY_IMAGE/fleetgate:0.1.0");
	ydoc_free(doc);
}

/* GitHub's and Gitea's workflows: checkout with the whole history, then the
 * gate writing the step summary as the last step. */
static void check_workflow(const char *name, size_t nsteps)
{
	struct ydoc *doc = snippet(name);
	const struct ynode *job = at(doc->root, "jobs/gate"), *steps;

	assert_string_equal(scalar(doc->root, "on"), "pull_request");
	assert_non_null(job);
	assert_string_equal(scalar(job, "runs-on"), "ubuntu-latest");
	assert_true(strlen(scalar(job, "container/image")) > 0);
	steps = at(job, "steps");
	assert_non_null(steps);
	assert_int_equal(steps->count, nsteps);
	assert_string_equal(scalar(item(steps, 0), "uses"), "actions/checkout@v4");
	assert_string_equal(scalar(item(steps, 0), "with/fetch-depth"), "0");
	assert_string_equal(scalar(item(steps, nsteps - 1), "run"),
			    "fleetgate gate --markdown \"$GITHUB_STEP_SUMMARY\"");
	if (nsteps == 3)
		assert_string_equal(scalar(item(steps, 1), "run"),
				    "git config --global --add safe.directory \"$GITHUB_WORKSPACE\"");
	ydoc_free(doc);
}

static void test_github_workflow(void **state)
{
	(void)state;
	check_workflow("github", 3);
}

static void test_gitea_workflow(void **state)
{
	(void)state;
	check_workflow("gitea", 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gitlab_job),
		cmocka_unit_test(test_github_workflow),
		cmocka_unit_test(test_gitea_workflow),
	};

	return cmocka_run_group_tests_name("gate_docs", tests, read_docs, free_docs);
}
