#include "core/openmetrics.h"

#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void om_init(struct om_set *set)
{
	memset(set, 0, sizeof(*set));
}

static void sample_release(struct om_sample *s)
{
	size_t i;

	for (i = 0; i < s->nlabels; i++) {
		free(s->labels[i].name);
		free(s->labels[i].value);
	}
	free(s->labels);
}

void om_release(struct om_set *set)
{
	size_t i, k;

	for (i = 0; i < set->nfamilies; i++) {
		struct om_family *f = &set->families[i];

		for (k = 0; k < f->nsamples; k++)
			sample_release(&f->samples[k]);
		free(f->samples);
		free(f->name);
		free(f->unit);
		free(f->help);
	}
	free(set->families);
	memset(set, 0, sizeof(*set));
}

size_t om_gauge(struct om_set *set, const char *name, const char *unit, const char *help)
{
	struct om_family *f;

	set->families = fg_grow(set->families, &set->alloc, set->nfamilies + 1, sizeof(*f));
	f = &set->families[set->nfamilies];
	memset(f, 0, sizeof(*f));
	f->name = fg_strdup(name);
	f->unit = unit ? fg_strdup(unit) : NULL;
	f->help = fg_strdup(help);
	return set->nfamilies++;
}

void om_sample(struct om_set *set, size_t family, double value, const char *const *labels,
	       size_t nlabels)
{
	struct om_family *f = &set->families[family];
	struct om_sample *s;
	size_t i;

	f->samples = fg_grow(f->samples, &f->alloc, f->nsamples + 1, sizeof(*s));
	s = &f->samples[f->nsamples++];
	s->value = value;
	s->nlabels = nlabels;
	s->labels = nlabels ? fg_calloc(nlabels, sizeof(*s->labels)) : NULL;
	for (i = 0; i < nlabels; i++) {
		s->labels[i].name = fg_strdup(labels[2 * i]);
		s->labels[i].value = fg_strdup(labels[2 * i + 1]);
	}
}

/* [a-zA-Z_:][a-zA-Z0-9_:]*, or without ':' for a label. */
static int valid_name(const char *s, int label)
{
	const char *p;

	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (p = s; *p; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			 (*p >= '0' && *p <= '9') || *p == '_' || (!label && *p == ':');

		if (!ok)
			return 0;
	}
	return 1;
}

static int unit_ends_name(const struct om_family *f)
{
	size_t n = strlen(f->name), u = strlen(f->unit);

	return u && valid_name(f->unit, 1) && n > u + 1 && f->name[n - u - 1] == '_' &&
	       !strcmp(f->name + n - u, f->unit);
}

static int check_sample(const struct om_family *f, size_t idx)
{
	const struct om_sample *s = &f->samples[idx];
	size_t i, k;

	for (i = 0; i < s->nlabels; i++) {
		const char *name = s->labels[i].name;

		if (!valid_name(name, 1) || !strncmp(name, "__", 2))
			return fg_error_set(FG_EINVAL,
					    "metrics: family '%s': invalid label name '%s'",
					    f->name, name);
		if (!fg_utf8_valid(s->labels[i].value))
			return fg_error_set(
				FG_EINVAL,
				"metrics: family '%s': the value of label '%s' is not valid UTF-8",
				f->name, name);
		for (k = 0; k < i; k++)
			if (!strcmp(name, s->labels[k].name))
				return fg_error_set(FG_EINVAL,
						    "metrics: family '%s': label '%s' twice in a sample",
						    f->name, name);
	}
	return 0;
}

static int check_family(const struct om_set *set, size_t idx)
{
	const struct om_family *f = &set->families[idx];
	size_t i;
	int rc = 0;

	if (!valid_name(f->name, 0))
		return fg_error_set(FG_EINVAL, "metrics: invalid metric name '%s'", f->name);
	if (f->unit && !unit_ends_name(f))
		return fg_error_set(FG_EINVAL,
				    "metrics: family '%s': the unit '%s' does not end its name",
				    f->name, f->unit);
	if (!fg_utf8_valid(f->help))
		return fg_error_set(FG_EINVAL, "metrics: family '%s': its help is not valid UTF-8",
				    f->name);
	for (i = 0; i < idx; i++)
		if (!strcmp(set->families[i].name, f->name))
			return fg_error_set(FG_EINVAL, "metrics: family '%s' twice", f->name);
	for (i = 0; !rc && i < f->nsamples; i++)
		rc = check_sample(f, i);
	return rc;
}

static void put_escaped(struct fg_buf *out, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fg_buf_puts(out, "\\\\");
		else if (*s == '\n')
			fg_buf_puts(out, "\\n");
		else if (*s == '"' && quote)
			fg_buf_puts(out, "\\\"");
		else
			fg_buf_putc(out, *s);
	}
}

/* A sample's labels as one string, the same for any order of its
 * labels: "name=escaped value" pairs, sorted, joined by '\n' (which the
 * escaped values never hold), so that two samples compare by strcmp. */
static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sample_key(const struct om_sample *s)
{
	struct fg_buf b = FG_BUF_INIT;
	char **pairs = fg_calloc(s->nlabels + 1, sizeof(char *));
	size_t i;

	fg_buf_init(&b);
	for (i = 0; i < s->nlabels; i++) {
		fg_buf_printf(&b, "%s=", s->labels[i].name);
		put_escaped(&b, s->labels[i].value, 1);
		pairs[i] = fg_buf_detach(&b);
		fg_buf_init(&b);
	}
	qsort(pairs, s->nlabels, sizeof(char *), compare_strings);
	for (i = 0; i < s->nlabels; i++) {
		fg_buf_puts(&b, pairs[i]);
		fg_buf_putc(&b, '\n');
	}
	fg_strings_free(pairs, s->nlabels);
	return fg_buf_detach(&b);
}

static void put_value(struct fg_buf *out, double v)
{
	if (isnan(v))
		fg_buf_puts(out, "NaN");
	else if (isinf(v))
		fg_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 9007199254740992.0)
		fg_buf_printf(out, "%.0f", v);
	else
		fg_buf_printf(out, "%.17g", v);
}

static void put_family(struct fg_buf *out, const struct om_family *f, enum om_format format)
{
	size_t i, k;

	fg_buf_printf(out, "# HELP %s ", f->name);
	put_escaped(out, f->help, format == OM_OPENMETRICS);
	fg_buf_printf(out, "\n# TYPE %s gauge\n", f->name);
	if (f->unit && format == OM_OPENMETRICS)
		fg_buf_printf(out, "# UNIT %s %s\n", f->name, f->unit);
	for (i = 0; i < f->nsamples; i++) {
		const struct om_sample *s = &f->samples[i];

		fg_buf_puts(out, f->name);
		for (k = 0; k < s->nlabels; k++) {
			fg_buf_printf(out, "%s%s=\"", k ? "," : "{", s->labels[k].name);
			put_escaped(out, s->labels[k].value, 1);
			fg_buf_putc(out, '"');
		}
		fg_buf_puts(out, s->nlabels ? "} " : " ");
		put_value(out, s->value);
		fg_buf_putc(out, '\n');
	}
}

/* No two samples of a family with one label set. */
static int check_unique(const struct om_family *f)
{
	char **keys = fg_calloc(f->nsamples + 1, sizeof(char *));
	size_t i;
	int rc = 0;

	for (i = 0; i < f->nsamples; i++)
		keys[i] = sample_key(&f->samples[i]);
	qsort(keys, f->nsamples, sizeof(char *), compare_strings);
	for (i = 1; !rc && i < f->nsamples; i++)
		if (!strcmp(keys[i - 1], keys[i]))
			rc = 1;
	fg_strings_free(keys, f->nsamples);
	return rc;
}

int om_write(struct fg_buf *out, const struct om_set *set, enum om_format format)
{
	size_t i;
	int rc;

	for (i = 0; i < set->nfamilies; i++) {
		rc = check_family(set, i);
		if (rc)
			return rc;
		if (check_unique(&set->families[i]))
			return fg_error_set(FG_EINVAL,
					    "metrics: family '%s': two samples with the same labels",
					    set->families[i].name);
	}
	for (i = 0; i < set->nfamilies; i++)
		put_family(out, &set->families[i], format);
	if (format == OM_OPENMETRICS)
		fg_buf_puts(out, "# EOF\n");
	return 0;
}
