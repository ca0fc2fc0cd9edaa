/*
 * The merge-request gate's report writers (lib/rules/gate_report.h) on verdicts
 * built here: the exact text, JSON, JUnit XML, Code Quality JSON, markdown
 * and GitHub Actions annotations for each outcome, and the escaping of
 * hostile names and messages in every format. Code Quality fingerprints
 * were computed independently with
 *   printf '%s\n%s\n%s\n%s' CODE FILE LINE MESSAGE | git hash-object --stdin
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
#include "rules/gate.h"
#include "rules/gate_report.h"

#define SRC "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
#define TGT "0f1e2d3c4b5a69788796a5b4c3d2e1f001234567"
#define ZERO "0000000000000000000000000000000000000000"
#define HOST "ci-runner-7"
#define DEV_A "devices/0b6c4f1e-7a2d-4e9b-b8c3-1f5a7d2e9c40.yaml"
#define DEV_B "devices/c8b1f4e2-6d3a-4c7b-9a2e-5b8d1f3c6a04.yaml"

#define NFU_MSG "'canary' takes merge requests only from 'main', not from 'feature/tune'"
#define NFU_ADVICE "open the merge request from the upstream stage instead"
#define DIV_MSG "the tip of 'canary' is not in the history of 'feature/tune': the merge would bring together content that 'feature/tune' never held"
#define DIV_ADVICE "a stage holds only what its upstream held: find out how the target diverged before promoting again"
#define CFG_ADVICE "fix the errors on the first stage and promote the fix"

static void result_new(struct gate_result *r, const char *source, const char *target,
		       const char *target_commit, const char *stage, const char *upstream)
{
	gate_result_init(r);
	r->source = fg_strdup(source);
	r->target = fg_strdup(target);
	snprintf(r->source_commit, sizeof(r->source_commit), "%s", SRC);
	snprintf(r->target_commit, sizeof(r->target_commit), "%s", target_commit);
	r->verdict = fg_calloc(1, sizeof(*r->verdict));
	r->verdict->ref = fg_strdup(target);
	r->verdict->stage = stage ? fg_strdup(stage) : NULL;
	r->verdict->upstream = upstream ? fg_strdup(upstream) : NULL;
	r->verdict->accepted = 1;
	/* As gate_judge() records them: 2026-11-18T11:06:40 UTC. */
	r->judged_at = 1795000000;
	snprintf(r->host, sizeof(r->host), "%s", HOST);
	r->promotion_seconds = 0.125;
	r->config_seconds = 0.25;
}

static void add_reason(struct gate_result *r, const char *rule, const char *message,
		       const char *commit, const char *subject, const char *advice)
{
	struct policy_verdict *v = r->verdict;
	struct policy_reason *p;

	v->accepted = 0;
	v->reasons = fg_realloc(v->reasons, (v->nreasons + 1) * sizeof(*v->reasons));
	p = &v->reasons[v->nreasons++];
	memset(p, 0, sizeof(*p));
	diags_init(&p->diags);
	p->rule = rule;
	p->message = fg_strdup(message);
	snprintf(p->commit, sizeof(p->commit), "%s", commit ? commit : "");
	p->subject = subject ? fg_strdup(subject) : NULL;
	p->advice = advice ? fg_strdup(advice) : NULL;
}

typedef void (*writer)(struct fg_buf *, const struct gate_result *);

static void assert_report(writer w, const struct gate_result *r, const char *expected)
{
	struct fg_buf out = FG_BUF_INIT;

	fg_buf_init(&out);
	w(&out, r);
	if (strcmp(out.ptr, expected))
		print_error("expected:\n%s\n--- got:\n%s\n", expected, out.ptr);
	assert_string_equal(out.ptr, expected);
	fg_buf_release(&out);
}

/* ---- accepted, nothing to say ---- */

static void test_accepted(void **state)
{
	struct gate_result r;

	(void)state;
	result_new(&r, "main", "canary", TGT, "canary", "main");
	assert_report(gate_report_text, &r, "gate: main -> canary: accepted\n");
	assert_report(gate_report_json, &r,
		      "{\n"
		      "  \"source\": \"main\",\n"
		      "  \"target\": \"canary\",\n"
		      "  \"source_commit\": \"" SRC "\",\n"
		      "  \"target_commit\": \"" TGT "\",\n"
		      "  \"accepted\": true,\n"
		      "  \"reasons\": [],\n"
		      "  \"diagnostics\": []\n"
		      "}\n");
	assert_report(gate_report_junit, &r,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<testsuites name=\"fleetgate\" tests=\"2\" failures=\"0\" errors=\"0\" time=\"0.375\">\n"
		      "  <testsuite name=\"fleetgate\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.375\" timestamp=\"2026-11-18T11:06:40\" hostname=\"" HOST "\">\n"
		      "    <testcase classname=\"fleetgate.promotion\" name=\"promotion: main -&gt; canary\" time=\"0.125\"/>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"fleet configuration\" time=\"0.250\"/>\n"
		      "  </testsuite>\n"
		      "</testsuites>\n");
	assert_report(gate_report_codequality, &r, "[]\n");
	assert_report(gate_report_markdown, &r,
		      "### fleetgate gate: main → canary: accepted\n"
		      "\n"
		      "| check | result |\n"
		      "| --- | --- |\n"
		      "| promotion rules | passed |\n"
		      "| fleet configuration at `a1b2c3d` | valid |\n");
	assert_report(gate_report_annotations, &r, "");
	gate_result_release(&r);
}

/* ---- accepted into a branch yet to be created, with warnings ---- */

static void test_accepted_new_target_with_warnings(void **state)
{
	struct gate_result r;

	(void)state;
	result_new(&r, "feature/x", "develop", ZERO, NULL, NULL);
	diags_add(&r.diags, DIAG_WARNING, "devices/notes.txt", 0, 0, "ignored-file",
		  "ignored: only devices/<device id>.yaml files are read here");
	assert_report(gate_report_text, &r,
		      "gate: feature/x -> develop: accepted\n"
		      "devices/notes.txt: warning: ignored: only devices/<device id>.yaml files are read here [ignored-file]\n");
	assert_report(gate_report_json, &r,
		      "{\n"
		      "  \"source\": \"feature/x\",\n"
		      "  \"target\": \"develop\",\n"
		      "  \"source_commit\": \"" SRC "\",\n"
		      "  \"target_commit\": null,\n"
		      "  \"accepted\": true,\n"
		      "  \"reasons\": [],\n"
		      "  \"diagnostics\": [\n"
		      "    {\"file\": \"devices/notes.txt\", \"line\": 0, \"column\": 0, \"severity\": \"warning\", \"code\": \"ignored-file\", \"message\": \"ignored: only devices/<device id>.yaml files are read here\"}\n"
		      "  ]\n"
		      "}\n");
	assert_report(gate_report_junit, &r,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<testsuites name=\"fleetgate\" tests=\"3\" failures=\"0\" errors=\"0\" time=\"0.375\">\n"
		      "  <testsuite name=\"fleetgate\" tests=\"3\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.375\" timestamp=\"2026-11-18T11:06:40\" hostname=\"" HOST "\">\n"
		      "    <testcase classname=\"fleetgate.promotion\" name=\"promotion: feature/x -&gt; develop\" time=\"0.125\"/>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"devices/notes.txt\" file=\"devices/notes.txt\" time=\"0.250\">\n"
		      "      <system-out>devices/notes.txt: warning: ignored: only devices/&lt;device id&gt;.yaml files are read here [ignored-file]\n"
		      "</system-out>\n"
		      "    </testcase>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"fleet configuration\" time=\"0.250\"/>\n"
		      "  </testsuite>\n"
		      "</testsuites>\n");
	assert_report(gate_report_codequality, &r,
		      "[\n"
		      "  {\"description\": \"ignored: only devices/<device id>.yaml files are read here\", \"check_name\": \"ignored-file\", \"fingerprint\": \"b891c726787d1eb1a9d871f3e8e6f0aa56025da2\", \"severity\": \"minor\", \"location\": {\"path\": \"devices/notes.txt\", \"lines\": {\"begin\": 1}}}\n"
		      "]\n");
	assert_report(gate_report_markdown, &r,
		      "### fleetgate gate: feature/x → develop: accepted\n"
		      "\n"
		      "| check | result |\n"
		      "| --- | --- |\n"
		      "| promotion rules | passed |\n"
		      "| fleet configuration at `a1b2c3d` | valid, 1 warning |\n"
		      "\n"
		      "| file | line | severity | code | message |\n"
		      "| --- | --- | --- | --- | --- |\n"
		      "| devices/notes.txt |  | warning | ignored-file | ignored: only devices/&lt;device id&gt;.yaml files are read here |\n");
	assert_report(gate_report_annotations, &r,
		      "::warning file=devices/notes.txt,title=fleetgate [ignored-file]::ignored: only devices/<device id>.yaml files are read here\n");
	gate_result_release(&r);
}

/* ---- refused by the promotion rules ---- */

static void test_refused_promotion(void **state)
{
	struct gate_result r;

	(void)state;
	result_new(&r, "feature/tune", "canary", TGT, "canary", "main");
	add_reason(&r, "not-from-upstream", NFU_MSG, NULL, NULL, NFU_ADVICE);
	add_reason(&r, "diverged", DIV_MSG, TGT, "Hotfix on canary", DIV_ADVICE);
	assert_report(gate_report_text, &r,
		      "gate: feature/tune -> canary: refused\n"
		      "  stage 'canary' takes only unmodified merges from 'main'\n"
		      "  [not-from-upstream] " NFU_MSG "\n"
		      "    what to do: " NFU_ADVICE "\n"
		      "  [diverged] " DIV_MSG "\n"
		      "    commit 0f1e2d3 \"Hotfix on canary\"\n"
		      "    what to do: " DIV_ADVICE "\n");
	assert_report(gate_report_json, &r,
		      "{\n"
		      "  \"source\": \"feature/tune\",\n"
		      "  \"target\": \"canary\",\n"
		      "  \"source_commit\": \"" SRC "\",\n"
		      "  \"target_commit\": \"" TGT "\",\n"
		      "  \"accepted\": false,\n"
		      "  \"reasons\": [\n"
		      "    {\"rule\": \"not-from-upstream\", \"message\": \"" NFU_MSG "\", \"commit\": null, \"subject\": null, \"advice\": \"" NFU_ADVICE "\"},\n"
		      "    {\"rule\": \"diverged\", \"message\": \"" DIV_MSG "\", \"commit\": \"" TGT "\", \"subject\": \"Hotfix on canary\", \"advice\": \"" DIV_ADVICE "\"}\n"
		      "  ],\n"
		      "  \"diagnostics\": []\n"
		      "}\n");
	assert_report(gate_report_junit, &r,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<testsuites name=\"fleetgate\" tests=\"2\" failures=\"1\" errors=\"0\" time=\"0.375\">\n"
		      "  <testsuite name=\"fleetgate\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"0.375\" timestamp=\"2026-11-18T11:06:40\" hostname=\"" HOST "\">\n"
		      "    <testcase classname=\"fleetgate.promotion\" name=\"promotion: feature/tune -&gt; canary\" time=\"0.125\">\n"
		      "      <failure type=\"not-from-upstream diverged\" message=\"" NFU_MSG "\">[not-from-upstream] " NFU_MSG "\n"
		      "what to do: " NFU_ADVICE "\n"
		      "[diverged] " DIV_MSG "\n"
		      "commit 0f1e2d3 &quot;Hotfix on canary&quot;\n"
		      "what to do: " DIV_ADVICE "\n"
		      "</failure>\n"
		      "    </testcase>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"fleet configuration\" time=\"0.250\"/>\n"
		      "  </testsuite>\n"
		      "</testsuites>\n");
	assert_report(gate_report_codequality, &r,
		      "[\n"
		      "  {\"description\": \"" NFU_MSG "; what to do: " NFU_ADVICE "\", \"check_name\": \"not-from-upstream\", \"fingerprint\": \"1972a3d17658bdf9a67c420d569a9b0954aaa172\", \"severity\": \"major\", \"location\": {\"path\": \"fleet.yaml\", \"lines\": {\"begin\": 1}}},\n"
		      "  {\"description\": \"" DIV_MSG "; what to do: " DIV_ADVICE "\", \"check_name\": \"diverged\", \"fingerprint\": \"0cb91ef92666fcef1e059d09ce109cb0f1d3976e\", \"severity\": \"major\", \"location\": {\"path\": \"fleet.yaml\", \"lines\": {\"begin\": 1}}}\n"
		      "]\n");
	assert_report(gate_report_markdown, &r,
		      "### fleetgate gate: feature/tune → canary: refused\n"
		      "\n"
		      "| check | result |\n"
		      "| --- | --- |\n"
		      "| promotion rules | refused: not-from-upstream, diverged |\n"
		      "| fleet configuration at `a1b2c3d` | valid |\n"
		      "\n"
		      "| rule | message | commit | what to do |\n"
		      "| --- | --- | --- | --- |\n"
		      "| not-from-upstream | " NFU_MSG " |  | " NFU_ADVICE " |\n"
		      "| diverged | " DIV_MSG " | `0f1e2d3` Hotfix on canary | " DIV_ADVICE " |\n");
	assert_report(gate_report_annotations, &r,
		      "::error title=fleetgate [not-from-upstream]::" NFU_MSG "%0Awhat to do: " NFU_ADVICE "\n"
		      "::error title=fleetgate [diverged]::" DIV_MSG "%0Awhat to do: " DIV_ADVICE "\n");
	gate_result_release(&r);
}

/* ---- refused: the source's configuration is invalid ---- */

static void invalid_config(struct gate_result *r)
{
	result_new(r, "feature/typo", "main", TGT, "main", NULL);
	add_reason(r, "invalid-config", "the fleet configuration at a1b2c3d has 3 errors", SRC,
		   "Typo", CFG_ADVICE);
	diags_add(&r->diags, DIAG_ERROR, DEV_A, 6, 1, "unknown-key",
		  "unknown key 'bogus' in a device file");
	diags_add(&r->diags, DIAG_ERROR, DEV_A, 8, 15, "type",
		  "value of 'kiosk_zoom' in config must be a string, number or boolean, not nothing (null)");
	diags_add(&r->diags, DIAG_WARNING, DEV_B, 0, 0, "unknown-branch",
		  "subscribed_branch 'develop' is neither a stage nor a branch of this repository");
	diags_add(&r->diags, DIAG_WARNING, "fleet.yaml", 0, 0, "unknown-branch",
		  "default_branch 'staging' is neither a stage nor a branch of this repository");
	diags_add(&r->diags, DIAG_ERROR, "fleet.yaml", 12, 3, "type",
		  "value of 'timezone' in config must be a string, number or boolean, not a list");
}

static void test_invalid_config(void **state)
{
	struct gate_result r;

	(void)state;
	invalid_config(&r);
	assert_report(gate_report_text, &r,
		      "gate: feature/typo -> main: refused\n"
		      "  stage 'main' is the first stage\n"
		      "  [invalid-config] the fleet configuration at a1b2c3d has 3 errors\n"
		      "    commit a1b2c3d \"Typo\"\n"
		      "    what to do: " CFG_ADVICE "\n"
		      DEV_A ":6:1: error: unknown key 'bogus' in a device file [unknown-key]\n"
		      DEV_A ":8:15: error: value of 'kiosk_zoom' in config must be a string, number or boolean, not nothing (null) [type]\n"
		      DEV_B ": warning: subscribed_branch 'develop' is neither a stage nor a branch of this repository [unknown-branch]\n"
		      "fleet.yaml: warning: default_branch 'staging' is neither a stage nor a branch of this repository [unknown-branch]\n"
		      "fleet.yaml:12:3: error: value of 'timezone' in config must be a string, number or boolean, not a list [type]\n");
	assert_report(gate_report_json, &r,
		      "{\n"
		      "  \"source\": \"feature/typo\",\n"
		      "  \"target\": \"main\",\n"
		      "  \"source_commit\": \"" SRC "\",\n"
		      "  \"target_commit\": \"" TGT "\",\n"
		      "  \"accepted\": false,\n"
		      "  \"reasons\": [\n"
		      "    {\"rule\": \"invalid-config\", \"message\": \"the fleet configuration at a1b2c3d has 3 errors\", \"commit\": \"" SRC "\", \"subject\": \"Typo\", \"advice\": \"" CFG_ADVICE "\"}\n"
		      "  ],\n"
		      "  \"diagnostics\": [\n"
		      "    {\"file\": \"" DEV_A "\", \"line\": 6, \"column\": 1, \"severity\": \"error\", \"code\": \"unknown-key\", \"message\": \"unknown key 'bogus' in a device file\"},\n"
		      "    {\"file\": \"" DEV_A "\", \"line\": 8, \"column\": 15, \"severity\": \"error\", \"code\": \"type\", \"message\": \"value of 'kiosk_zoom' in config must be a string, number or boolean, not nothing (null)\"},\n"
		      "    {\"file\": \"" DEV_B "\", \"line\": 0, \"column\": 0, \"severity\": \"warning\", \"code\": \"unknown-branch\", \"message\": \"subscribed_branch 'develop' is neither a stage nor a branch of this repository\"},\n"
		      "    {\"file\": \"fleet.yaml\", \"line\": 0, \"column\": 0, \"severity\": \"warning\", \"code\": \"unknown-branch\", \"message\": \"default_branch 'staging' is neither a stage nor a branch of this repository\"},\n"
		      "    {\"file\": \"fleet.yaml\", \"line\": 12, \"column\": 3, \"severity\": \"error\", \"code\": \"type\", \"message\": \"value of 'timezone' in config must be a string, number or boolean, not a list\"}\n"
		      "  ]\n"
		      "}\n");
	assert_report(gate_report_junit, &r,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<testsuites name=\"fleetgate\" tests=\"4\" failures=\"2\" errors=\"0\" time=\"0.375\">\n"
		      "  <testsuite name=\"fleetgate\" tests=\"4\" failures=\"2\" errors=\"0\" skipped=\"0\" time=\"0.375\" timestamp=\"2026-11-18T11:06:40\" hostname=\"" HOST "\">\n"
		      "    <testcase classname=\"fleetgate.promotion\" name=\"promotion: feature/typo -&gt; main\" time=\"0.125\"/>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"" DEV_A "\" file=\"" DEV_A "\" time=\"0.250\">\n"
		      "      <failure type=\"unknown-key type\" message=\"2 errors, 0 warnings\">" DEV_A ":6:1: error: unknown key 'bogus' in a device file [unknown-key]\n"
		      DEV_A ":8:15: error: value of 'kiosk_zoom' in config must be a string, number or boolean, not nothing (null) [type]\n"
		      "</failure>\n"
		      "    </testcase>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"" DEV_B "\" file=\"" DEV_B "\" time=\"0.250\">\n"
		      "      <system-out>" DEV_B ": warning: subscribed_branch 'develop' is neither a stage nor a branch of this repository [unknown-branch]\n"
		      "</system-out>\n"
		      "    </testcase>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"fleet.yaml\" file=\"fleet.yaml\" time=\"0.250\">\n"
		      "      <failure type=\"unknown-branch type\" message=\"1 error, 1 warning\">fleet.yaml: warning: default_branch 'staging' is neither a stage nor a branch of this repository [unknown-branch]\n"
		      "fleet.yaml:12:3: error: value of 'timezone' in config must be a string, number or boolean, not a list [type]\n"
		      "</failure>\n"
		      "    </testcase>\n"
		      "  </testsuite>\n"
		      "</testsuites>\n");
	assert_report(gate_report_codequality, &r,
		      "[\n"
		      "  {\"description\": \"unknown key 'bogus' in a device file\", \"check_name\": \"unknown-key\", \"fingerprint\": \"b201a6ce9f99ab7d1965249604a4d5c992c0c92f\", \"severity\": \"major\", \"location\": {\"path\": \"" DEV_A "\", \"lines\": {\"begin\": 6}}},\n"
		      "  {\"description\": \"value of 'kiosk_zoom' in config must be a string, number or boolean, not nothing (null)\", \"check_name\": \"type\", \"fingerprint\": \"c2c5f92b0286b4b3430ea7e37c90402333e7db60\", \"severity\": \"major\", \"location\": {\"path\": \"" DEV_A "\", \"lines\": {\"begin\": 8}}},\n"
		      "  {\"description\": \"subscribed_branch 'develop' is neither a stage nor a branch of this repository\", \"check_name\": \"unknown-branch\", \"fingerprint\": \"9fbec5201764384a4403c791e945d5c1ed9aa8b7\", \"severity\": \"minor\", \"location\": {\"path\": \"" DEV_B "\", \"lines\": {\"begin\": 1}}},\n"
		      "  {\"description\": \"default_branch 'staging' is neither a stage nor a branch of this repository\", \"check_name\": \"unknown-branch\", \"fingerprint\": \"be44668bfc799515d16196c10da2bab6b8ec45cf\", \"severity\": \"minor\", \"location\": {\"path\": \"fleet.yaml\", \"lines\": {\"begin\": 1}}},\n"
		      "  {\"description\": \"value of 'timezone' in config must be a string, number or boolean, not a list\", \"check_name\": \"type\", \"fingerprint\": \"4f68169604145595fa645ef3cf86d8845ec508db\", \"severity\": \"major\", \"location\": {\"path\": \"fleet.yaml\", \"lines\": {\"begin\": 12}}}\n"
		      "]\n");
	assert_report(gate_report_markdown, &r,
		      "### fleetgate gate: feature/typo → main: refused\n"
		      "\n"
		      "| check | result |\n"
		      "| --- | --- |\n"
		      "| promotion rules | passed |\n"
		      "| fleet configuration at `a1b2c3d` | 3 errors, 2 warnings |\n"
		      "\n"
		      "| rule | message | commit | what to do |\n"
		      "| --- | --- | --- | --- |\n"
		      "| invalid-config | the fleet configuration at a1b2c3d has 3 errors | `a1b2c3d` Typo | " CFG_ADVICE " |\n"
		      "\n"
		      "| file | line | severity | code | message |\n"
		      "| --- | --- | --- | --- | --- |\n"
		      "| " DEV_A " | 6:1 | error | unknown-key | unknown key 'bogus' in a device file |\n"
		      "| " DEV_A " | 8:15 | error | type | value of 'kiosk\\_zoom' in config must be a string, number or boolean, not nothing (null) |\n"
		      "| " DEV_B " |  | warning | unknown-branch | subscribed\\_branch 'develop' is neither a stage nor a branch of this repository |\n"
		      "| fleet.yaml |  | warning | unknown-branch | default\\_branch 'staging' is neither a stage nor a branch of this repository |\n"
		      "| fleet.yaml | 12:3 | error | type | value of 'timezone' in config must be a string, number or boolean, not a list |\n");
	assert_report(gate_report_annotations, &r,
		      "::error title=fleetgate [invalid-config]::the fleet configuration at a1b2c3d has 3 errors%0Awhat to do: " CFG_ADVICE "\n"
		      "::error file=" DEV_A ",line=6,col=1,title=fleetgate [unknown-key]::unknown key 'bogus' in a device file\n"
		      "::error file=" DEV_A ",line=8,col=15,title=fleetgate [type]::value of 'kiosk_zoom' in config must be a string, number or boolean, not nothing (null)\n"
		      "::warning file=" DEV_B ",title=fleetgate [unknown-branch]::subscribed_branch 'develop' is neither a stage nor a branch of this repository\n"
		      "::warning file=fleet.yaml,title=fleetgate [unknown-branch]::default_branch 'staging' is neither a stage nor a branch of this repository\n"
		      "::error file=fleet.yaml,line=12,col=3,title=fleetgate [type]::value of 'timezone' in config must be a string, number or boolean, not a list\n");
	gate_result_release(&r);
}

/* ---- names and messages that try to break each format ---- */

#define HOSTILE_MSG "a <b> & \"c\" 100% | *d* _e_ `f` [g] ~h~ \\ one\ntwo\r, x:y"
#define HOSTILE_FILE "devices/a,b:c%.yaml"

/* ---- JUnit: each code of a test case once, a real clock, any host name ---- */

static void test_junit_codes_time_host(void **state)
{
	struct gate_result r;

	(void)state;
	result_new(&r, "feature/x", "main", TGT, "main", NULL);
	r.judged_at = 0;
	snprintf(r.host, sizeof(r.host), "%s", "build <&\"> 1");
	r.promotion_seconds = 1.5;
	r.config_seconds = 12.0625;
	add_reason(&r, "merge-only", "commit a1b2c3d is not a merge: 'main' takes only merge commits",
		   SRC, "One", "merge a feature branch");
	add_reason(&r, "first-parent", "the first-parent history of 'main' does not continue from its previous tip",
		   NULL, NULL, NULL);
	add_reason(&r, "merge-only", "commit 0f1e2d3 is not a merge: 'main' takes only merge commits",
		   TGT, "Two", "merge a feature branch");
	diags_add(&r.diags, DIAG_ERROR, "fleet.yaml", 3, 1, "unknown-key", "unknown key 'a'");
	diags_add(&r.diags, DIAG_WARNING, "fleet.yaml", 4, 1, "ignored-file", "w");
	diags_add(&r.diags, DIAG_ERROR, "fleet.yaml", 5, 1, "unknown-key", "unknown key 'b'");
	diags_add(&r.diags, DIAG_ERROR, "fleet.yaml", 6, 1, "type", "t");
	assert_report(gate_report_junit, &r,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<testsuites name=\"fleetgate\" tests=\"2\" failures=\"2\" errors=\"0\" time=\"13.562\">\n"
		      "  <testsuite name=\"fleetgate\" tests=\"2\" failures=\"2\" errors=\"0\" skipped=\"0\" time=\"13.562\" timestamp=\"1970-01-01T00:00:00\" hostname=\"build &lt;&amp;&quot;&gt; 1\">\n"
		      "    <testcase classname=\"fleetgate.promotion\" name=\"promotion: feature/x -&gt; main\" time=\"1.500\">\n"
		      "      <failure type=\"merge-only first-parent\" message=\"commit a1b2c3d is not a merge: 'main' takes only merge commits\">"
		      "[merge-only] commit a1b2c3d is not a merge: 'main' takes only merge commits\n"
		      "commit a1b2c3d &quot;One&quot;\n"
		      "what to do: merge a feature branch\n"
		      "[first-parent] the first-parent history of 'main' does not continue from its previous tip\n"
		      "[merge-only] commit 0f1e2d3 is not a merge: 'main' takes only merge commits\n"
		      "commit 0f1e2d3 &quot;Two&quot;\n"
		      "what to do: merge a feature branch\n"
		      "</failure>\n"
		      "    </testcase>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"fleet.yaml\" file=\"fleet.yaml\" time=\"12.062\">\n"
		      "      <failure type=\"unknown-key ignored-file type\" message=\"3 errors, 1 warning\">"
		      "fleet.yaml:3:1: error: unknown key 'a' [unknown-key]\n"
		      "fleet.yaml:4:1: warning: w [ignored-file]\n"
		      "fleet.yaml:5:1: error: unknown key 'b' [unknown-key]\n"
		      "fleet.yaml:6:1: error: t [type]\n"
		      "</failure>\n"
		      "    </testcase>\n"
		      "  </testsuite>\n"
		      "</testsuites>\n");
	gate_result_release(&r);
}

static void test_escaping(void **state)
{
	struct gate_result r;

	(void)state;
	result_new(&r, "fix/50%_off", "canary", TGT, "canary", "main");
	add_reason(&r, "not-from-upstream", HOSTILE_MSG, TGT, "Fix \"quotes\" & <tags>\x1b[31m",
		   "see <https://x>, then 5% more");
	diags_add(&r.diags, DIAG_ERROR, HOSTILE_FILE, 2, 3, "unknown-key", "%s", HOSTILE_MSG);
	assert_report(gate_report_text, &r,
		      "gate: fix/50%_off -> canary: refused\n"
		      "  stage 'canary' takes only unmodified merges from 'main'\n"
		      "  [not-from-upstream] a <b> & \"c\" 100% | *d* _e_ `f` [g] ~h~ \\ one?two?, x:y\n"
		      "    commit 0f1e2d3 \"Fix \"quotes\" & <tags>?[31m\"\n"
		      "    what to do: see <https://x>, then 5% more\n"
		      HOSTILE_FILE ":2:3: error: a <b> & \"c\" 100% | *d* _e_ `f` [g] ~h~ \\ one?two?, x:y [unknown-key]\n");
	assert_report(gate_report_json, &r,
		      "{\n"
		      "  \"source\": \"fix/50%_off\",\n"
		      "  \"target\": \"canary\",\n"
		      "  \"source_commit\": \"" SRC "\",\n"
		      "  \"target_commit\": \"" TGT "\",\n"
		      "  \"accepted\": false,\n"
		      "  \"reasons\": [\n"
		      "    {\"rule\": \"not-from-upstream\", \"message\": \"a <b> & \\\"c\\\" 100% | *d* _e_ `f` [g] ~h~ \\\\ one\\ntwo\\r, x:y\", \"commit\": \"" TGT "\", \"subject\": \"Fix \\\"quotes\\\" & <tags>\\u001b[31m\", \"advice\": \"see <https://x>, then 5% more\"}\n"
		      "  ],\n"
		      "  \"diagnostics\": [\n"
		      "    {\"file\": \"" HOSTILE_FILE "\", \"line\": 2, \"column\": 3, \"severity\": \"error\", \"code\": \"unknown-key\", \"message\": \"a <b> & \\\"c\\\" 100% | *d* _e_ `f` [g] ~h~ \\\\ one\\ntwo\\r, x:y\"}\n"
		      "  ]\n"
		      "}\n");
	assert_report(gate_report_junit, &r,
		      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		      "<testsuites name=\"fleetgate\" tests=\"2\" failures=\"2\" errors=\"0\" time=\"0.375\">\n"
		      "  <testsuite name=\"fleetgate\" tests=\"2\" failures=\"2\" errors=\"0\" skipped=\"0\" time=\"0.375\" timestamp=\"2026-11-18T11:06:40\" hostname=\"" HOST "\">\n"
		      "    <testcase classname=\"fleetgate.promotion\" name=\"promotion: fix/50%_off -&gt; canary\" time=\"0.125\">\n"
		      "      <failure type=\"not-from-upstream\" message=\"a &lt;b&gt; &amp; &quot;c&quot; 100% | *d* _e_ `f` [g] ~h~ \\ one&#10;two&#13;, x:y\">"
		      "[not-from-upstream] a &lt;b&gt; &amp; &quot;c&quot; 100% | *d* _e_ `f` [g] ~h~ \\ one\ntwo&#13;, x:y\n"
		      "commit 0f1e2d3 &quot;Fix &quot;quotes&quot; &amp; &lt;tags&gt;?[31m&quot;\n"
		      "what to do: see &lt;https://x&gt;, then 5% more\n"
		      "</failure>\n"
		      "    </testcase>\n"
		      "    <testcase classname=\"fleetgate.config\" name=\"" HOSTILE_FILE "\" file=\"" HOSTILE_FILE "\" time=\"0.250\">\n"
		      "      <failure type=\"unknown-key\" message=\"1 error, 0 warnings\">" HOSTILE_FILE ":2:3: error: a &lt;b&gt; &amp; &quot;c&quot; 100% | *d* _e_ `f` [g] ~h~ \\ one?two?, x:y [unknown-key]\n"
		      "</failure>\n"
		      "    </testcase>\n"
		      "  </testsuite>\n"
		      "</testsuites>\n");
	assert_report(gate_report_codequality, &r,
		      "[\n"
		      "  {\"description\": \"a <b> & \\\"c\\\" 100% | *d* _e_ `f` [g] ~h~ \\\\ one\\ntwo\\r, x:y; what to do: see <https://x>, then 5% more\", \"check_name\": \"not-from-upstream\", \"fingerprint\": \"f1a69d463357e623343ff0ed7dab3ac20cdbab8e\", \"severity\": \"major\", \"location\": {\"path\": \"fleet.yaml\", \"lines\": {\"begin\": 1}}},\n"
		      "  {\"description\": \"a <b> & \\\"c\\\" 100% | *d* _e_ `f` [g] ~h~ \\\\ one\\ntwo\\r, x:y\", \"check_name\": \"unknown-key\", \"fingerprint\": \"45b32807266a3c5d4e7fd2f05d095295bfd35204\", \"severity\": \"major\", \"location\": {\"path\": \"" HOSTILE_FILE "\", \"lines\": {\"begin\": 2}}}\n"
		      "]\n");
	assert_report(gate_report_markdown, &r,
		      "### fleetgate gate: fix/50%\\_off → canary: refused\n"
		      "\n"
		      "| check | result |\n"
		      "| --- | --- |\n"
		      "| promotion rules | refused: not-from-upstream |\n"
		      "| fleet configuration at `a1b2c3d` | 1 error, 0 warnings |\n"
		      "\n"
		      "| rule | message | commit | what to do |\n"
		      "| --- | --- | --- | --- |\n"
		      "| not-from-upstream | a &lt;b&gt; &amp; \"c\" 100% \\| \\*d\\* \\_e\\_ \\`f\\` \\[g\\] \\~h\\~ \\\\ one two , x:y | `0f1e2d3` Fix \"quotes\" &amp; &lt;tags&gt; \\[31m | see &lt;https://x&gt;, then 5% more |\n"
		      "\n"
		      "| file | line | severity | code | message |\n"
		      "| --- | --- | --- | --- | --- |\n"
		      "| devices/a,b:c%.yaml | 2:3 | error | unknown-key | a &lt;b&gt; &amp; \"c\" 100% \\| \\*d\\* \\_e\\_ \\`f\\` \\[g\\] \\~h\\~ \\\\ one two , x:y |\n");
	assert_report(gate_report_annotations, &r,
		      "::error title=fleetgate [not-from-upstream]::a <b> & \"c\" 100%25 | *d* _e_ `f` [g] ~h~ \\ one%0Atwo%0D, x:y%0Awhat to do: see <https://x>, then 5%25 more\n"
		      "::error file=devices/a%2Cb%3Ac%25.yaml,line=2,col=3,title=fleetgate [unknown-key]::a <b> & \"c\" 100%25 | *d* _e_ `f` [g] ~h~ \\ one%0Atwo%0D, x:y\n");
	gate_result_release(&r);
}

/* ---- a long list of diagnostics in the markdown summary ---- */

static void test_markdown_cap(void **state)
{
	struct gate_result r;
	struct fg_buf out = FG_BUF_INIT;
	const char *tail;
	size_t i, rows = 0;

	(void)state;
	result_new(&r, "feature/many", "main", TGT, "main", NULL);
	add_reason(&r, "invalid-config", "the fleet configuration at a1b2c3d has 52 errors", SRC,
		   "Many", CFG_ADVICE);
	for (i = 0; i < GATE_MARKDOWN_MAX_DIAGS + 2; i++)
		diags_add(&r.diags, DIAG_ERROR, "fleet.yaml", (unsigned)i + 1, 1, "unknown-key",
			  "unknown key 'k%zu' in fleet.yaml", i);
	fg_buf_init(&out);
	gate_report_markdown(&out, &r);
	for (tail = out.ptr; (tail = strstr(tail, "| fleet.yaml | ")); tail++)
		rows++;
	assert_int_equal(rows, GATE_MARKDOWN_MAX_DIAGS);
	tail = strstr(out.ptr, "| fleet.yaml | 50:1 |");
	assert_non_null(tail);
	assert_string_equal(tail,
			    "| fleet.yaml | 50:1 | error | unknown-key | unknown key 'k49' in fleet.yaml |\n"
			    "\n"
			    "... and 2 more: run `fleetgate validate --rev a1b2c3d`\n");
	fg_buf_release(&out);
	gate_result_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_accepted_new_target_with_warnings),
		cmocka_unit_test(test_refused_promotion),
		cmocka_unit_test(test_invalid_config),
		cmocka_unit_test(test_junit_codes_time_host),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_markdown_cap),
	};

	return cmocka_run_group_tests_name("gate_report", tests, NULL, NULL);
}
