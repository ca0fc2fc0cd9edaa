#ifndef FLEETGATE_OPENMETRICS_H
#define FLEETGATE_OPENMETRICS_H

#include <stddef.h>

#include "core/buf.h"

/*
 * A writer of the Prometheus text exposition format (version 0.0.4, what
 * node_exporter's textfile collector reads) and of OpenMetrics 1.0 text,
 * over families the caller builds. Pure: no I/O, no clock.
 *
 * Only gauges: everything fleetgate exports is a state read when the text
 * is written (a textfile is rewritten whole; nothing counts up in one
 * process). A family has a name, a unit (or NULL), a help text and
 * samples; a sample has label pairs and a value.
 *
 * The caller owns the struct; om_release() frees its contents. Every
 * string given is copied.
 */

enum om_format {
	OM_PROMETHEUS,  /* text/plain; version=0.0.4 */
	OM_OPENMETRICS, /* application/openmetrics-text; version=1.0.0: # UNIT, # EOF */
};

struct om_label {
	char *name;
	char *value;
};

struct om_sample {
	struct om_label *labels;
	size_t nlabels;
	double value;
};

struct om_family {
	char *name;
	char *unit; /* or NULL */
	char *help;
	struct om_sample *samples;
	size_t nsamples, alloc;
};

struct om_set {
	struct om_family *families;
	size_t nfamilies, alloc;
};

void om_init(struct om_set *set);
void om_release(struct om_set *set);

/* Add a gauge family and return its index, for om_sample(). `unit` (may
 * be NULL) must end the name, after a '_' (OpenMetrics' rule). */
size_t om_gauge(struct om_set *set, const char *name, const char *unit, const char *help);

/* Add a sample to family `family`: `labels` holds `nlabels` pairs, name
 * then value (2 * nlabels strings). */
void om_sample(struct om_set *set, size_t family, double value, const char *const *labels,
	       size_t nlabels);

/*
 * Append the text of every family, in the order added, to `out`; with
 * OM_OPENMETRICS, a "# UNIT" line where a family has a unit and "# EOF"
 * at the end. Label values are escaped as both formats require (\\, \",
 * \n); help texts as each format requires (OpenMetrics also escapes \").
 * Values: integers as integers, others with 17 significant digits, NaN,
 * +Inf, -Inf.
 *
 * FG_EINVAL, with a message naming the family and nothing appended, when
 * the set breaks a rule of the formats: a metric or label name not
 * [a-zA-Z_:][a-zA-Z0-9_:]* ([a-zA-Z_][a-zA-Z0-9_]* for labels), a label
 * name starting with "__", a unit that does not end the name, two
 * families of one name, a label twice in a sample, two samples of a
 * family with the same labels, a label value or help text that is not
 * valid UTF-8.
 */
int om_write(struct fg_buf *out, const struct om_set *set, enum om_format format);

#endif
