#ifndef FLEETGATE_REPORT_H
#define FLEETGATE_REPORT_H

#include <stddef.h>

#include "core/buf.h"
#include "rules/policy.h"

/*
 * Verdicts of the promotion rules rendered for people: the lines a pusher
 * sees after "remote:", and the gate's text report. Subjects and names that
 * came with the push are stripped of control characters.
 */

#define REPORT_MAX_DIAGS 20 /* diagnostics shown per refused ref */
/* Bytes of a commit subject a refusal shows; a longer one is shown up to
 * there (whole characters) and ends in "…" (JSON reports keep it whole). */
#define REPORT_MAX_SUBJECT 200

/* Explain every refused verdict; with `gitlab`, the first line of each
 * refusal is repeated with the GL-HOOK-ERR: prefix GitLab shows in its UI. */
void report_refusals(struct fg_buf *out, const struct policy_verdict *v, size_t n, int gitlab);

/*
 * The lines that explain one refused verdict, each starting with `indent`:
 * the stage's rule, then per reason "[rule] message", the commit and its
 * subject, at most `max_diags` of its diagnostics (0: none, for a report
 * that lists every diagnostic after the reasons) and "what to do: advice".
 */
void report_verdict(struct fg_buf *out, const struct policy_verdict *v, const char *indent,
		    size_t max_diags);

/* One line: "fleetgate: N refs judged: ... accepted, ... refused". */
void report_summary(struct fg_buf *out, const struct policy_verdict *v, size_t n);

#endif
