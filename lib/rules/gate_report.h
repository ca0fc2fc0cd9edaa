#ifndef FLEETGATE_GATE_REPORT_H
#define FLEETGATE_GATE_REPORT_H

#include <stddef.h>

#include "core/buf.h"
#include "rules/gate.h"

/*
 * The merge-request gate's reports, one pure function per format: each
 * appends the whole report for `r` (which must hold a verdict) to `out`.
 * Text that came from the repository (names, subjects, paths, messages) is
 * escaped for the format, never trusted.
 *
 * The rule invalid-config is the configuration's diagnostics; the reports
 * that have a place per problem (JUnit, Code Quality, annotations, the
 * markdown table) show those diagnostics, and name the rule once.
 */

/* At most this many diagnostics rows in the markdown summary (a MR comment
 * has a size limit); the rest is counted with a pointer to validate. */
#define GATE_MARKDOWN_MAX_DIAGS 50

/*
 * For people and CI logs: "gate: <source> -> <target>: accepted|refused",
 * then, when refused, the stage's rule and each reason with its commit,
 * subject and what to do (lib/rules/report.h's wording), then every diagnostic
 * gcc-style.
 */
void gate_report_text(struct fg_buf *out, const struct gate_result *r);

/*
 * One JSON object: source, target, source_commit, target_commit (null for a
 * target yet to be created), accepted, reasons [{rule, message, commit,
 * subject, advice}] (null where a reason has none) and diagnostics [{file,
 * line, column, severity, code, message}].
 */
void gate_report_json(struct fg_buf *out, const struct gate_result *r);

/*
 * JUnit XML for GitLab's merge-request test widget: testsuite "fleetgate"
 * with a testcase for the promotion rules (failing with every reason other
 * than invalid-config), one per file that has diagnostics (failing when it
 * has an error; warnings in system-out), and a passing testcase
 * "configuration" when the configuration has no error. A failure's type
 * lists each rule or code of its testcase once, space-separated. The
 * testsuite carries r->judged_at (UTC) and r->host, each testcase a time:
 * r->promotion_seconds, or r->config_seconds for the configuration's
 * testcases (one validation judged them all).
 */
void gate_report_junit(struct fg_buf *out, const struct gate_result *r);

/*
 * GitLab Code Quality JSON: an array of {description, check_name,
 * fingerprint, severity, location: {path, lines: {begin}}}, one per
 * diagnostic (severity major for an error, minor for a warning; line 1 for
 * a whole file) and one per refusal other than invalid-config (major, at
 * fleet.yaml line 1). The fingerprint is the SHA-1 (hash_blob_hex, git's blob id) of
 * "<code>\n<file>\n<line>\n<message>", stable from one pipeline to the next.
 */
void gate_report_codequality(struct fg_buf *out, const struct gate_result *r);

/*
 * A short markdown summary for a merge-request comment or
 * $GITHUB_STEP_SUMMARY: a heading with the outcome, a table of the two
 * checks, then tables of the reasons and of the diagnostics (at most
 * GATE_MARKDOWN_MAX_DIAGS rows).
 */
void gate_report_markdown(struct fg_buf *out, const struct gate_result *r);

/*
 * GitHub / Gitea Actions workflow commands, one line each:
 *   ::error file=F,line=L,col=C,title=fleetgate [code]::message
 * (::warning for a warning; no line and col for a whole file) per
 * diagnostic, and ::error title=fleetgate [rule]::message%0Awhat to do: ...
 * per reason. '%', '\r' and '\n' are written %25, %0D and %0A, and in the
 * properties ':' and ',' also %3A and %2C, as the runner expects.
 */
void gate_report_annotations(struct fg_buf *out, const struct gate_result *r);

#endif
