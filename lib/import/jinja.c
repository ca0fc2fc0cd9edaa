#include "import/jinja.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the parsed form ---- */

enum xkind {
	X_NAME,
	X_STR,
	X_INT,
	X_FLOAT,
	X_BOOL,
	X_NONE,
	X_ENV,
	X_ATTR,
	X_MANDATORY,
	X_DEFAULT,
	X_LENGTH,
	X_DEFINED,
	X_NOT,
	X_AND,
	X_OR,
	X_CMP,
	X_COND,
};

enum cmp { C_EQ, C_NE, C_LT, C_GT, C_LE, C_GE };

struct jx {
	enum xkind k;
	size_t pos;  /* byte offset in the template, for messages */
	char *s;     /* name, string literal, attribute, env name, message */
	long long i; /* integer, boolean, compare op, default's flag, negation */
	double f;
	struct jx *a, *b, *c;
};

enum skind { S_TEXT, S_OUT, S_IF };

struct jlist {
	struct js **items;
	size_t n, alloc;
};

struct js {
	enum skind k;
	size_t pos;
	const char *text; /* S_TEXT: into the template's copy */
	size_t len;
	struct jx *x; /* S_OUT: the expression; S_IF: the condition */
	struct jlist then, els;
};

struct jinja_template {
	char *text;
	size_t len;
	char *file;
	struct jlist body;
	char **names;
	size_t nnames, anames;
};

/* ---- positions ---- */

static void line_col(const char *text, size_t pos, unsigned *line, unsigned *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* ---- lexer (inside {{ }} and {% %}) ---- */

enum tok { T_EOF, T_END, T_NAME, T_STR, T_INT, T_FLOAT, T_OP };

struct parser {
	struct jinja_template *t;
	struct diags *diags;
	size_t pos; /* next byte to lex */
	size_t nodes;
	int failed;
	/* the current token */
	enum tok tk;
	size_t tpos;
	char *tval; /* T_NAME, T_STR, T_OP: malloc'd */
	long long ti;
	double tf;
	char close; /* '}' for {{ }}, '%' for {% %} */
	size_t tag; /* where the last {% %} tag began */
};

static void perr(struct parser *p, size_t pos, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void perr(struct parser *p, size_t pos, const char *code, const char *fmt, ...)
{
	unsigned line, col;
	va_list ap;
	char *msg;

	if (p->failed)
		return; /* the first problem is the one to fix; the rest follow from it */
	p->failed = 1;
	line_col(p->t->text, pos, &line, &col);
	va_start(ap, fmt);
	msg = fg_vasprintf(fmt, ap);
	va_end(ap);
	diags_add(p->diags, DIAG_ERROR, p->t->file, line, col, code, "%s", msg);
	free(msg);
}

#define UNSUPPORTED(p, pos, ...) perr(p, pos, "template-unsupported", __VA_ARGS__)
#define SYNTAX(p, pos, ...) perr(p, pos, "template-syntax", __VA_ARGS__)

static int lex_string(struct parser *p)
{
	const char *s = p->t->text;
	char q = s[p->pos++];
	struct fg_buf b = FG_BUF_INIT;

	fg_buf_init(&b);
	while (p->pos < p->t->len && s[p->pos] != q) {
		char c = s[p->pos++];

		if (c == '\\') {
			if (p->pos >= p->t->len)
				break;
			c = s[p->pos++];
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c != '\\' && c != '\'' && c != '"') {
				UNSUPPORTED(p, p->pos - 2, "escape '\\%c' in a string literal", c);
				fg_buf_release(&b);
				return -1;
			}
		}
		fg_buf_putc(&b, c);
	}
	if (p->pos >= p->t->len) {
		SYNTAX(p, p->tpos, "unterminated string literal");
		fg_buf_release(&b);
		return -1;
	}
	p->pos++;
	p->tk = T_STR;
	p->tval = fg_buf_detach(&b);
	return 0;
}

static int lex_number(struct parser *p)
{
	const char *s = p->t->text;
	size_t start = p->pos;
	char *num;

	while (p->pos < p->t->len && isdigit((unsigned char)s[p->pos]))
		p->pos++;
	p->tk = T_INT;
	if (p->pos + 1 < p->t->len && s[p->pos] == '.' && isdigit((unsigned char)s[p->pos + 1])) {
		p->pos++;
		while (p->pos < p->t->len && isdigit((unsigned char)s[p->pos]))
			p->pos++;
		p->tk = T_FLOAT;
	}
	if (p->pos < p->t->len && (isalpha((unsigned char)s[p->pos]) || s[p->pos] == '_')) {
		UNSUPPORTED(p, start, "number literal '%.*s'", (int)(p->pos - start + 1), s + start);
		return -1;
	}
	num = fg_strndup(s + start, p->pos - start);
	errno = 0;
	if (p->tk == T_FLOAT)
		p->tf = strtod(num, NULL);
	else
		p->ti = strtoll(num, NULL, 10);
	free(num);
	if (errno) {
		UNSUPPORTED(p, start, "number literal out of range");
		return -1;
	}
	return 0;
}

static const char *const ops[] = { "==", "!=", "<=", ">=", "<", ">", ".", "|", "(", ")", ",", NULL };

/* The next token; -1 after reporting a problem. */
static int lex(struct parser *p)
{
	const char *s = p->t->text;
	size_t n = p->t->len, i;

	free(p->tval);
	p->tval = NULL;
	while (p->pos < n && isspace((unsigned char)s[p->pos]))
		p->pos++;
	p->tpos = p->pos;
	if (p->pos >= n) {
		p->tk = T_EOF;
		return 0;
	}
	if (p->pos + 1 < n && s[p->pos] == p->close && s[p->pos + 1] == '}') {
		p->pos += 2;
		p->tk = T_END;
		return 0;
	}
	if (s[p->pos] == '-' && p->pos + 2 < n && s[p->pos + 1] == p->close && s[p->pos + 2] == '}') {
		UNSUPPORTED(p, p->pos, "whitespace control '-%c}'", p->close);
		return -1;
	}
	if (isalpha((unsigned char)s[p->pos]) || s[p->pos] == '_') {
		size_t start = p->pos;

		while (p->pos < n && (isalnum((unsigned char)s[p->pos]) || s[p->pos] == '_'))
			p->pos++;
		p->tk = T_NAME;
		p->tval = fg_strndup(s + start, p->pos - start);
		return 0;
	}
	if (isdigit((unsigned char)s[p->pos]))
		return lex_number(p);
	if (s[p->pos] == '\'' || s[p->pos] == '"')
		return lex_string(p);
	for (i = 0; ops[i]; i++) {
		size_t l = strlen(ops[i]);

		if (p->pos + l <= n && !memcmp(s + p->pos, ops[i], l)) {
			p->pos += l;
			p->tk = T_OP;
			p->tval = fg_strdup(ops[i]);
			return 0;
		}
	}
	if (s[p->pos] == '}' || s[p->pos] == '%')
		SYNTAX(p, p->pos, "'%c' where '%c}' should close the tag", s[p->pos], p->close);
	else
		UNSUPPORTED(p, p->pos, "operator '%.*s'", ((unsigned char)s[p->pos] < 0x80) ? 1 : 0,
			    s + p->pos);
	return -1;
}

static int is_op(const struct parser *p, const char *op)
{
	return p->tk == T_OP && !strcmp(p->tval, op);
}

static int is_name(const struct parser *p, const char *name)
{
	return p->tk == T_NAME && !strcmp(p->tval, name);
}

static const char *tok_text(const struct parser *p)
{
	switch (p->tk) {
	case T_EOF:
		return "the end of the template";
	case T_END:
		return p->close == '}' ? "'}}'" : "'%}'";
	case T_INT:
	case T_FLOAT:
		return "a number";
	case T_STR:
		return "a string";
	default:
		return p->tval;
	}
}

static int expect_op(struct parser *p, const char *op)
{
	if (!is_op(p, op)) {
		SYNTAX(p, p->tpos, "expected '%s', found %s", op, tok_text(p));
		return -1;
	}
	return lex(p);
}

/* ---- expressions ---- */

static void jx_free(struct jx *x)
{
	if (!x)
		return;
	jx_free(x->a);
	jx_free(x->b);
	jx_free(x->c);
	free(x->s);
	free(x);
}

static struct jx *jx_new(struct parser *p, enum xkind k, size_t pos)
{
	struct jx *x;

	if (++p->nodes > JINJA_MAX_NODES) {
		UNSUPPORTED(p, pos, "template of more than %d nodes", JINJA_MAX_NODES);
		return NULL;
	}
	x = fg_calloc(1, sizeof(*x));
	x->k = k;
	x->pos = pos;
	return x;
}

static void add_name(struct jinja_template *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nnames; i++)
		if (!strcmp(t->names[i], name))
			return;
	t->names = fg_grow(t->names, &t->anames, t->nnames + 1, sizeof(*t->names));
	t->names[t->nnames++] = fg_strdup(name);
}

static struct jx *parse_expr(struct parser *p, int depth);

static int is_keyword(const char *s)
{
	static const char *const words[] = { "and",  "or",    "not", "if", "else",
					     "elif", "endif", "is",  "in", NULL };
	size_t i;

	for (i = 0; words[i]; i++)
		if (!strcmp(s, words[i]))
			return 1;
	return 0;
}

/* lookup('env', 'NAME'): the only call. */
static struct jx *parse_lookup(struct parser *p, size_t pos)
{
	struct jx *x = NULL;
	char *kind = NULL;

	if (lex(p) || expect_op(p, "("))
		return NULL;
	if (p->tk != T_STR) {
		UNSUPPORTED(p, p->tpos, "lookup() with anything but string literals");
		return NULL;
	}
	kind = p->tval;
	p->tval = NULL;
	if (strcmp(kind, "env")) {
		UNSUPPORTED(p, p->tpos,
			    "lookup('%s', ...): only lookup('env', 'NAME') is supported", kind);
		goto done;
	}
	if (lex(p) || expect_op(p, ","))
		goto done;
	if (p->tk != T_STR) {
		UNSUPPORTED(p, p->tpos, "lookup('env', ...) with anything but one string literal");
		goto done;
	}
	x = jx_new(p, X_ENV, pos);
	if (!x)
		goto done;
	x->s = p->tval;
	p->tval = NULL;
	if (lex(p) || expect_op(p, ")")) {
		jx_free(x);
		x = NULL;
	}
done:
	free(kind);
	return x;
}

static struct jx *parse_primary(struct parser *p, int depth)
{
	struct jx *x = NULL;
	size_t pos = p->tpos;

	if (depth > JINJA_MAX_DEPTH) {
		UNSUPPORTED(p, pos, "expression nested more than %d deep", JINJA_MAX_DEPTH);
		return NULL;
	}
	switch (p->tk) {
	case T_NAME:
		if (is_name(p, "lookup"))
			return parse_lookup(p, pos);
		if (!(x = jx_new(p, X_NAME, pos)))
			return NULL;
		if (!strcmp(p->tval, "true") || !strcmp(p->tval, "True") ||
		    !strcmp(p->tval, "false") || !strcmp(p->tval, "False")) {
			x->k = X_BOOL;
			x->i = p->tval[0] == 't' || p->tval[0] == 'T';
		} else if (!strcmp(p->tval, "none") || !strcmp(p->tval, "None")) {
			x->k = X_NONE;
		} else if (is_keyword(p->tval)) {
			SYNTAX(p, pos, "expected a value, found '%s'", p->tval);
			free(x);
			return NULL;
		} else {
			x->s = p->tval;
			p->tval = NULL;
			add_name(p->t, x->s);
		}
		break;
	case T_STR:
		if (!(x = jx_new(p, X_STR, pos)))
			return NULL;
		x->s = p->tval;
		p->tval = NULL;
		break;
	case T_INT:
	case T_FLOAT:
		if (!(x = jx_new(p, p->tk == T_INT ? X_INT : X_FLOAT, pos)))
			return NULL;
		x->i = p->ti;
		x->f = p->tf;
		break;
	default:
		if (is_op(p, "(")) {
			if (lex(p))
				return NULL;
			x = parse_expr(p, depth + 1);
			if (x && expect_op(p, ")")) {
				jx_free(x);
				return NULL;
			}
			return x;
		}
		SYNTAX(p, pos, "expected a value, found %s", tok_text(p));
		return NULL;
	}
	if (lex(p)) {
		jx_free(x);
		return NULL;
	}
	return x;
}

/* After '|': mandatory, mandatory('msg'), default(v[, bool]), length. */
static struct jx *parse_filter(struct parser *p, struct jx *x, int depth)
{
	struct jx *f;
	size_t pos = p->tpos;

	if (p->tk != T_NAME) {
		SYNTAX(p, pos, "expected a filter name after '|', found %s", tok_text(p));
		return NULL;
	}
	if (is_name(p, "mandatory"))
		f = jx_new(p, X_MANDATORY, pos);
	else if (is_name(p, "default"))
		f = jx_new(p, X_DEFAULT, pos);
	else if (is_name(p, "length"))
		f = jx_new(p, X_LENGTH, pos);
	else {
		UNSUPPORTED(p, pos, "filter '%s' (supported: mandatory, default, length)", p->tval);
		return NULL;
	}
	if (!f)
		return NULL;
	f->a = x;
	if (lex(p))
		goto fail;
	if (f->k == X_LENGTH || !is_op(p, "(")) {
		if (f->k == X_DEFAULT) {
			SYNTAX(p, p->tpos, "default needs a value: default(...)");
			goto fail;
		}
		return f;
	}
	if (lex(p))
		goto fail;
	if (f->k == X_MANDATORY) {
		if (p->tk != T_STR) {
			UNSUPPORTED(p, p->tpos, "mandatory() with anything but one string literal");
			goto fail;
		}
		f->s = p->tval;
		p->tval = NULL;
		if (lex(p))
			goto fail;
	} else {
		if (!(f->b = parse_expr(p, depth + 1)))
			goto fail;
		if (is_op(p, ",")) {
			if (lex(p))
				goto fail;
			if (p->tk != T_NAME || !(is_name(p, "true") || is_name(p, "True") ||
						 is_name(p, "false") || is_name(p, "False"))) {
				UNSUPPORTED(p, p->tpos,
					    "default()'s second argument other than true or false");
				goto fail;
			}
			f->i = p->tval[0] == 't' || p->tval[0] == 'T';
			if (lex(p))
				goto fail;
		}
	}
	if (expect_op(p, ")"))
		goto fail;
	return f;
fail:
	f->a = NULL;
	jx_free(f);
	return NULL;
}

/* primary, then .name, | filter, is [not] defined */
static struct jx *parse_postfix(struct parser *p, int depth)
{
	struct jx *x = parse_primary(p, depth), *n;

	while (x) {
		size_t pos = p->tpos;

		if (is_op(p, ".")) {
			if (lex(p))
				break;
			if (p->tk != T_NAME) {
				SYNTAX(p, p->tpos, "expected a name after '.', found %s",
				       tok_text(p));
				break;
			}
			if (!(n = jx_new(p, X_ATTR, pos)))
				break;
			n->a = x;
			n->s = p->tval;
			p->tval = NULL;
			x = n;
			if (lex(p))
				break;
		} else if (is_op(p, "|")) {
			if (lex(p) || !(n = parse_filter(p, x, depth)))
				break;
			x = n;
		} else if (is_name(p, "is")) {
			int neg = 0;

			if (lex(p))
				break;
			if (is_name(p, "not")) {
				neg = 1;
				if (lex(p))
					break;
			}
			if (!is_name(p, "defined")) {
				UNSUPPORTED(p, p->tpos, "test '%s' (supported: defined)",
					    p->tk == T_NAME ? p->tval : tok_text(p));
				break;
			}
			if (!(n = jx_new(p, X_DEFINED, pos)))
				break;
			n->a = x;
			n->i = neg;
			x = n;
			if (lex(p))
				break;
		} else if (is_op(p, "(")) {
			UNSUPPORTED(p, pos, "a call: only lookup('env', 'NAME') is supported");
			break;
		} else {
			return x;
		}
	}
	jx_free(x);
	return NULL;
}

static struct jx *parse_not(struct parser *p, int depth)
{
	struct jx *x;
	size_t pos = p->tpos;

	if (depth > JINJA_MAX_DEPTH) {
		UNSUPPORTED(p, pos, "expression nested more than %d deep", JINJA_MAX_DEPTH);
		return NULL;
	}
	if (!is_name(p, "not"))
		return parse_postfix(p, depth);
	if (lex(p) || !(x = jx_new(p, X_NOT, pos)))
		return NULL;
	if (!(x->a = parse_not(p, depth + 1))) {
		jx_free(x);
		return NULL;
	}
	return x;
}

static int cmp_op(const struct parser *p)
{
	static const char *const names[] = { "==", "!=", "<", ">", "<=", ">=" };
	int i;

	for (i = 0; p->tk == T_OP && i < 6; i++)
		if (!strcmp(p->tval, names[i]))
			return i;
	return -1;
}

static struct jx *parse_cmp(struct parser *p, int depth)
{
	struct jx *x = parse_not(p, depth), *n;
	int op;

	if (x && (op = cmp_op(p)) >= 0) {
		if (!(n = jx_new(p, X_CMP, p->tpos)) || lex(p)) {
			free(n);
			jx_free(x);
			return NULL;
		}
		n->i = op;
		n->a = x;
		if (!(n->b = parse_not(p, depth + 1))) {
			jx_free(n);
			return NULL;
		}
		if (cmp_op(p) >= 0) {
			UNSUPPORTED(p, p->tpos, "chained comparison");
			jx_free(n);
			return NULL;
		}
		x = n;
	}
	return x;
}

/* and binds tighter than or; both left to right */
static struct jx *parse_logic(struct parser *p, int depth, int level)
{
	const char *word = level ? "or" : "and";
	struct jx *x = level ? parse_logic(p, depth, 0) : parse_cmp(p, depth), *n;

	while (x && is_name(p, word)) {
		if (depth > JINJA_MAX_DEPTH) {
			UNSUPPORTED(p, p->tpos, "expression nested more than %d deep",
				    JINJA_MAX_DEPTH);
			break;
		}
		n = jx_new(p, level ? X_OR : X_AND, p->tpos);
		if (!n)
			break;
		n->a = x;
		x = n;
		if (lex(p))
			break;
		if (!(n->b = level ? parse_logic(p, depth + 1, 0) : parse_cmp(p, depth + 1)))
			break;
		depth++;
	}
	if (p->failed) {
		jx_free(x);
		return NULL;
	}
	return x;
}

/* x [if cond [else y]] */
static struct jx *parse_expr(struct parser *p, int depth)
{
	struct jx *x, *n;

	if (depth > JINJA_MAX_DEPTH) {
		UNSUPPORTED(p, p->tpos, "expression nested more than %d deep", JINJA_MAX_DEPTH);
		return NULL;
	}
	x = parse_logic(p, depth + 1, 1);
	if (!x || !is_name(p, "if"))
		return x;
	if (!(n = jx_new(p, X_COND, p->tpos)) || lex(p)) {
		free(n);
		jx_free(x);
		return NULL;
	}
	n->a = x;
	if (!(n->b = parse_logic(p, depth + 1, 1)))
		goto fail;
	if (is_name(p, "else")) {
		if (lex(p) || !(n->c = parse_expr(p, depth + 1)))
			goto fail;
	}
	return n;
fail:
	jx_free(n);
	return NULL;
}

/* ---- statements ---- */

static void js_free(struct js *s);

static void jlist_release(struct jlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		js_free(l->items[i]);
	free(l->items);
}

static void js_free(struct js *s)
{
	if (!s)
		return;
	jx_free(s->x);
	jlist_release(&s->then);
	jlist_release(&s->els);
	free(s);
}

static struct js *jlist_add(struct jlist *l, enum skind k, size_t pos)
{
	struct js *s = fg_calloc(1, sizeof(*s));

	s->k = k;
	s->pos = pos;
	l->items = fg_grow(l->items, &l->alloc, l->n + 1, sizeof(*l->items));
	l->items[l->n++] = s;
	return s;
}

/* An expression that must fill the rest of the tag. */
static struct jx *parse_tag_expr(struct parser *p)
{
	struct jx *x = parse_expr(p, 0);

	if (x && p->tk != T_END) {
		if (p->tk == T_NAME || (p->tk == T_OP && strcmp(p->tval, ")")))
			UNSUPPORTED(p, p->tpos, "%s '%s' here",
				    p->tk == T_NAME ? "keyword" : "operator", p->tval);
		else
			SYNTAX(p, p->tpos, "expected '%c}', found %s", p->close, tok_text(p));
		jx_free(x);
		return NULL;
	}
	return x;
}

/* trim_blocks: the newline right after a {% %} tag goes. */
static void trim_newline(struct parser *p)
{
	const char *s = p->t->text;

	if (p->pos < p->t->len && s[p->pos] == '\n')
		p->pos++;
	else if (p->pos + 1 < p->t->len && s[p->pos] == '\r' && s[p->pos + 1] == '\n')
		p->pos += 2;
}

enum stop { STOP_EOF, STOP_ELSE, STOP_ELIF, STOP_ENDIF, STOP_ERROR };

static enum stop parse_block(struct parser *p, struct jlist *out, int depth);

/* After "{% if" or "{% elif": the condition, the branches, through endif. */
static int parse_if(struct parser *p, struct jlist *out, size_t pos, int depth)
{
	struct js *s = jlist_add(out, S_IF, pos);
	enum stop stop;

	if (depth > JINJA_MAX_DEPTH) {
		UNSUPPORTED(p, pos, "if blocks nested more than %d deep", JINJA_MAX_DEPTH);
		return -1;
	}
	if (lex(p) || !(s->x = parse_tag_expr(p)))
		return -1;
	trim_newline(p);
	stop = parse_block(p, &s->then, depth + 1);
	if (stop == STOP_ELIF)
		return parse_if(p, &s->els, p->tpos, depth + 1);
	if (stop == STOP_ELSE) {
		stop = parse_block(p, &s->els, depth + 1);
		if (stop == STOP_ELSE || stop == STOP_ELIF) {
			SYNTAX(p, p->tag, "'%s' after 'else'", stop == STOP_ELSE ? "else" : "elif");
			return -1;
		}
	}
	if (stop == STOP_EOF) {
		SYNTAX(p, pos, "'if' without 'endif'");
		return -1;
	}
	return stop == STOP_ERROR ? -1 : 0;
}

/* After "{%": one statement. Returns the stop it is, or -1 for "go on". */
static int parse_statement(struct parser *p, struct jlist *out, int depth)
{
	size_t pos = p->pos - 2;
	enum stop stop;

	p->tag = pos;
	p->close = '%';
	if (p->pos < p->t->len && p->t->text[p->pos] == '-') {
		UNSUPPORTED(p, pos, "whitespace control '{%%-'");
		return STOP_ERROR;
	}
	if (lex(p))
		return STOP_ERROR;
	if (is_name(p, "if"))
		return parse_if(p, out, pos, depth) ? STOP_ERROR : -1;
	if (is_name(p, "else") || is_name(p, "endif")) {
		stop = is_name(p, "else") ? STOP_ELSE : STOP_ENDIF;
		if (lex(p))
			return STOP_ERROR;
		if (p->tk != T_END) {
			SYNTAX(p, p->tpos, "expected '%%}', found %s", tok_text(p));
			return STOP_ERROR;
		}
		if (!depth) {
			SYNTAX(p, pos, "'%s' without 'if'", stop == STOP_ELSE ? "else" : "endif");
			return STOP_ERROR;
		}
		return stop;
	}
	if (is_name(p, "elif")) {
		if (!depth) {
			SYNTAX(p, pos, "'elif' without 'if'");
			return STOP_ERROR;
		}
		return STOP_ELIF;
	}
	if (p->tk == T_NAME)
		UNSUPPORTED(p, p->tpos, "statement '%s' (supported: if, elif, else, endif)", p->tval);
	else
		SYNTAX(p, p->tpos, "expected a statement, found %s", tok_text(p));
	return STOP_ERROR;
}

static enum stop parse_block(struct parser *p, struct jlist *out, int depth)
{
	const char *s = p->t->text;
	size_t n = p->t->len;

	while (p->pos < n) {
		const char *open = NULL;
		size_t at = p->pos;
		int stop;

		while (at + 1 < n && !(s[at] == '{' && strchr("{%#", s[at + 1])))
			at++;
		if (at + 1 >= n)
			at = n;
		else
			open = s + at;
		if (at > p->pos) {
			struct js *t = jlist_add(out, S_TEXT, p->pos);

			t->text = s + p->pos;
			t->len = at - p->pos;
		}
		p->pos = at;
		if (!open)
			break;
		p->pos += 2;
		if (open[1] == '#') {
			UNSUPPORTED(p, at, "comment '{#'");
			return STOP_ERROR;
		}
		if (open[1] == '{') {
			struct js *o = jlist_add(out, S_OUT, at);

			p->close = '}';
			if (p->pos < n && s[p->pos] == '-') {
				UNSUPPORTED(p, at, "whitespace control '{{-'");
				return STOP_ERROR;
			}
			if (lex(p) || !(o->x = parse_tag_expr(p)))
				return STOP_ERROR;
			continue;
		}
		stop = parse_statement(p, out, depth);
		if (stop == STOP_ERROR || stop == STOP_ELIF)
			return stop;
		if (stop < 0)
			continue; /* an if block, its newlines trimmed inside */
		trim_newline(p);
		return stop;
	}
	return STOP_EOF;
}

int jinja_parse(struct jinja_template **out, const char *text, size_t len, const char *file,
		struct diags *diags)
{
	struct jinja_template *t = fg_calloc(1, sizeof(*t));
	struct parser p;

	memset(&p, 0, sizeof(p));
	*out = NULL;
	t->text = fg_strndup(text, len);
	t->len = len;
	t->file = fg_strdup(file);
	p.t = t;
	p.diags = diags;
	if (len > JINJA_MAX_TEXT)
		UNSUPPORTED(&p, 0, "template of %zu bytes (at most %d)", len, JINJA_MAX_TEXT);
	else if (memchr(text, '\0', len))
		SYNTAX(&p, (size_t)((const char *)memchr(text, '\0', len) - text), "NUL byte");
	else
		parse_block(&p, &t->body, 0);
	free(p.tval);
	if (p.failed) {
		jinja_free(t);
		return 0;
	}
	*out = t;
	return 0;
}

void jinja_free(struct jinja_template *t)
{
	if (!t)
		return;
	jlist_release(&t->body);
	fg_strings_free(t->names, t->nnames);
	free(t->text);
	free(t->file);
	free(t);
}

void jinja_names(const struct jinja_template *t, const char ***names, size_t *count)
{
	*names = (const char **)t->names;
	*count = t->nnames;
}

/* ---- values ---- */

enum vtype {
	V_UNDEF,
	V_NONE,
	V_BOOL,
	V_INT,
	V_FLOAT,
	V_STR,
	V_SECRET,     /* lookup('env', NAME): never read, rendered ${secret:NAME} */
	V_OS_IMAGE,   /* desired_os_image: rendered ${os_image} */
	V_SECRET_LEN, /* the length of a secret: unknown, taken as positive */
	V_NODE,       /* a YAML list or mapping */
};

struct val {
	enum vtype t;
	long long i;
	double f;
	const char *s; /* V_STR, V_SECRET (the name), V_UNDEF (what is undefined) */
	int subst;     /* V_STR made by rendering: its ${...} are ours */
	const struct ynode *node;
	const char *file; /* V_NODE: the file it was read from */
};

struct ev {
	const struct jinja_template *t;
	const struct jinja_scope *sc;
	jinja_use_fn use;
	void *uctx;
	char **owned; /* strings made while rendering, freed at the end */
	size_t nowned, aowned;
	int nesting;
	size_t out_len; /* bytes rendered so far, nested renderings included */
};

static const char *keep(struct ev *e, char *s)
{
	e->owned = fg_grow(e->owned, &e->aowned, e->nowned + 1, sizeof(*e->owned));
	e->owned[e->nowned++] = s;
	return s;
}

static int fail(const struct ev *e, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(const struct ev *e, size_t pos, const char *fmt, ...)
{
	unsigned line, col;
	va_list ap;
	char *msg;

	line_col(e->t->text, pos, &line, &col);
	va_start(ap, fmt);
	msg = fg_vasprintf(fmt, ap);
	va_end(ap);
	fg_error_set(FG_EINVAL, "%s:%u:%u: %s", e->t->file, line, col, msg);
	free(msg);
	return FG_EINVAL;
}

static const char *type_name(const struct val *v)
{
	static const char *const names[] = { "undefined",  "none",         "a boolean",
					     "an integer", "a float",      "a string",
					     "a secret",   "the OS image", "a secret's length",
					     "a list" };

	if (v->t == V_NODE && v->node->type == YNODE_MAPPING)
		return "a mapping";
	return names[v->t];
}

/* ---- YAML 1.1 scalars as PyYAML types them ---- */

static int all_of(const char *s, const char *set)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!strchr(set, *s))
			return 0;
	return 1;
}

static int one_of(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(s, *words))
			return 1;
	return 0;
}

static char *strip_underscores(const char *s)
{
	char *r = fg_strdup(s), *w = r;

	for (; *s; s++)
		if (*s != '_')
			*w++ = *s;
	*w = '\0';
	return r;
}

/* An int of YAML 1.1: 0b.., 0x.., 0[0-7_]+ (octal), decimal; 1 when it is
 * one (with *v set), 0 when not, FG_EINVAL when it is one we do not model. */
static int yaml_int(const char *s, long long *v)
{
	const char *d = s + (*s == '-' || *s == '+');
	int base = 10, neg = *s == '-';
	char *clean, *end;
	unsigned long long u;

	if (d[0] == '0' && d[1] == 'b' && all_of(d + 2, "01_"))
		base = 2, d += 2;
	else if (d[0] == '0' && d[1] == 'x' && all_of(d + 2, "0123456789abcdefABCDEF_"))
		base = 16, d += 2;
	else if (d[0] == '0' && d[1] && all_of(d + 1, "01234567_"))
		base = 8, d += 1;
	else if (!strcmp(d, "0"))
		;
	else if (!(d[0] >= '1' && d[0] <= '9'))
		return 0;
	else if (!all_of(d, "0123456789_"))
		return all_of(d, "0123456789_:") ? FG_EINVAL : 0; /* sexagesimal */
	clean = strip_underscores(d);
	errno = 0;
	u = *clean ? strtoull(clean, &end, base) : 0;
	if (!*clean || *end)
		u = 0; /* "0x_" is an int of no digits: Python's int() fails too */
	free(clean);
	if (errno || u > (unsigned long long)LLONG_MAX)
		return FG_EINVAL;
	*v = neg ? -(long long)u : (long long)u;
	return 1;
}

/* PyYAML's float: needs a '.'; an exponent needs its sign. */
static int yaml_float(const char *s, double *v)
{
	static const char *const inf[] = { ".inf", ".Inf", ".INF", NULL };
	static const char *const nan[] = { ".nan", ".NaN", ".NAN", NULL };
	const char *d = s + (*s == '-' || *s == '+'), *q = d;
	char *clean, *end;

	if (one_of(d, inf)) {
		*v = *s == '-' ? -INFINITY : INFINITY;
		return 1;
	}
	if (one_of(s, nan)) {
		*v = NAN;
		return 1;
	}
	if (d == s && *d == '.') {
		q++; /* \.[0-9_]+ has no sign and no integer part */
		if (!*q || strspn(q, "0123456789_") == 0)
			return 0;
	} else {
		if (!isdigit((unsigned char)*q))
			return 0;
		q += strspn(q, "0123456789_");
		if (*q == ':')
			return all_of(q, "0123456789_:.") ? FG_EINVAL : 0;
		if (*q != '.')
			return 0;
		q++;
	}
	q += strspn(q, "0123456789_");
	if ((*q == 'e' || *q == 'E') && (q[1] == '-' || q[1] == '+') && isdigit((unsigned char)q[2]))
		q += 2 + strspn(q + 2, "0123456789");
	if (*q)
		return 0;
	clean = strip_underscores(s);
	*v = strtod(clean, &end);
	if (*end || !strcmp(clean, ".") || !strcmp(clean, "-.") || !strcmp(clean, "+.")) {
		free(clean);
		return FG_EINVAL;
	}
	free(clean);
	return 1;
}

/* 2025-10-10: a date, which Python prints as written; with a time: not modelled. */
static int yaml_timestamp(const char *s)
{
	static const int days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, n = 0;

	if (!(isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1]) &&
	      isdigit((unsigned char)s[2]) && isdigit((unsigned char)s[3]) && s[4] == '-'))
		return 0;
	if (strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10 &&
	    isdigit((unsigned char)s[5]) && isdigit((unsigned char)s[6]) && s[7] == '-' &&
	    isdigit((unsigned char)s[8]) && isdigit((unsigned char)s[9])) {
		if (m < 1 || m > 12 || d < 1 || d > days[m - 1] ||
		    (m == 2 && d == 29 && !((y % 4 == 0 && y % 100) || y % 400 == 0)) || y < 1)
			return FG_EINVAL;
		return 1;
	}
	return strchr(s, ':') && strspn(s, "0123456789-:.tT +Z\t") == strlen(s) ? FG_EINVAL : 0;
}

static int scalar_val(const struct ynode *n, struct val *v)
{
	static const char *const trues[] = { "yes",  "Yes", "YES", "true", "True",
					     "TRUE", "on",  "On",  "ON",   NULL };
	static const char *const falses[] = { "no",    "No",  "NO",  "false", "False",
					      "FALSE", "off", "Off", "OFF",   NULL };
	static const char *const nulls[] = { "~", "null", "Null", "NULL", "", NULL };
	const char *s = n->value;
	int rc;

	memset(v, 0, sizeof(*v));
	v->t = V_STR;
	v->s = s;
	if (n->tag && strcmp(n->tag, "tag:yaml.org,2002:str"))
		return fg_error_set(FG_EINVAL, "the YAML tag '%s' is not supported%s", n->tag,
				    !strcmp(n->tag, "!vault")
					    ? " (an Ansible Vault value: put it in fleetgate's secrets file and use lookup('env', 'NAME'))"
					    : "");
	if (!n->plain || n->tag)
		return 0;
	if (one_of(s, trues) || one_of(s, falses)) {
		v->t = V_BOOL;
		v->i = one_of(s, trues);
	} else if (one_of(s, nulls)) {
		v->t = V_NONE;
	} else if ((rc = yaml_float(s, &v->f)) || (rc = yaml_int(s, &v->i))) {
		if (rc < 0)
			return fg_error_set(FG_EINVAL,
					    "the number '%s' is not supported (quote it)", s);
		v->t = strchr(s, '.') && !strchr(s, 'x') && !strchr(s, 'b') ? V_FLOAT : V_INT;
		if (v->t == V_INT)
			yaml_int(s, &v->i);
	} else if ((rc = yaml_timestamp(s)) < 0) {
		return fg_error_set(FG_EINVAL, "the timestamp '%s' is not supported (quote it)", s);
	}
	return 0;
}

/* Python's repr() of a float: the shortest digits that read back, fixed
 * notation for exponents -4..15, else d.ddde+XX. */
static void put_float(struct fg_buf *b, double d)
{
	char buf[40], digits[24];
	int p, e, nd = 0, i;
	const char *q;

	if (isnan(d) || isinf(d)) {
		fg_buf_puts(b, isnan(d) ? "nan" : d < 0 ? "-inf" : "inf");
		return;
	}
	if (d == 0) {
		fg_buf_puts(b, signbit(d) ? "-0.0" : "0.0");
		return;
	}
	for (p = 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	q = buf;
	if (*q == '-')
		fg_buf_putc(b, *q++);
	for (; *q && *q != 'e'; q++)
		if (isdigit((unsigned char)*q))
			digits[nd++] = *q;
	e = atoi(q + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (e >= -4 && e < 16) {
		if (e < 0) {
			fg_buf_puts(b, "0.");
			for (i = 0; i < -e - 1; i++)
				fg_buf_putc(b, '0');
			fg_buf_put(b, digits, (size_t)nd);
			return;
		}
		for (i = 0; i <= e; i++)
			fg_buf_putc(b, i < nd ? digits[i] : '0');
		fg_buf_putc(b, '.');
		if (nd > e + 1)
			fg_buf_put(b, digits + e + 1, (size_t)(nd - e - 1));
		else
			fg_buf_putc(b, '0');
		return;
	}
	fg_buf_putc(b, digits[0]);
	if (nd > 1) {
		fg_buf_putc(b, '.');
		fg_buf_put(b, digits + 1, (size_t)(nd - 1));
	}
	fg_buf_printf(b, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
}

/* str() of a value, as {{ }} prints it. */
static int put_val(const struct ev *e, struct fg_buf *b, const struct val *v, size_t pos)
{
	switch (v->t) {
	case V_UNDEF:
		return fail(e, pos, "'%s' is undefined", v->s);
	case V_NONE:
		fg_buf_puts(b, "None");
		return 0;
	case V_BOOL:
		fg_buf_puts(b, v->i ? "True" : "False");
		return 0;
	case V_INT:
		fg_buf_printf(b, "%lld", v->i);
		return 0;
	case V_FLOAT:
		put_float(b, v->f);
		return 0;
	case V_STR:
		if (!v->subst && strstr(v->s, "${"))
			return fail(e, pos,
				    "the value '%s' holds '${', which fleetgate would read as a substitution",
				    v->s);
		fg_buf_puts(b, v->s);
		return 0;
	case V_SECRET:
		fg_buf_printf(b, "${secret:%s}", v->s);
		return 0;
	case V_OS_IMAGE:
		fg_buf_puts(b, "${os_image}");
		return 0;
	default:
		return fail(e, pos, "printing %s is not supported", type_name(v));
	}
}

/* ---- evaluation ---- */

static int eval(struct ev *e, const struct jx *x, struct val *v);
static int render_list(struct ev *e, const struct jlist *l, struct fg_buf *out);

static int truth(const struct ev *e, const struct val *v, size_t pos, int *out)
{
	switch (v->t) {
	case V_UNDEF:
		return fail(e, pos, "'%s' is undefined", v->s);
	case V_NONE:
		*out = 0;
		return 0;
	case V_BOOL:
	case V_INT:
		*out = v->i != 0;
		return 0;
	case V_FLOAT:
		*out = v->f != 0;
		return 0;
	case V_STR:
		*out = *v->s != '\0';
		return 0;
	case V_OS_IMAGE:
	case V_SECRET_LEN:
		*out = 1;
		return 0;
	case V_NODE:
		*out = v->node->count > 0;
		return 0;
	default:
		return fail(e, pos,
			    "the truth of secret '%s' depends on its value, which the importer never reads",
			    v->s);
	}
}

/* A variable's value that is a template itself, rendered when used, as
 * Ansible does. One {{ expr }} alone keeps its type (a secret stays one). */
static int nested(struct ev *e, const struct ynode *n, const char *file, const char *name,
		  struct val *v)
{
	struct jinja_template *t = NULL;
	struct diags diags;
	struct ev sub;
	struct fg_buf b = FG_BUF_INIT;
	char *where;
	int rc = 0;

	if (e->nesting >= JINJA_MAX_NESTING)
		return fg_error_set(FG_EINVAL,
				    "%s:%u:%u: '%s' is a template nested more than %d deep", file,
				    n->line, n->column, name, JINJA_MAX_NESTING);
	diags_init(&diags);
	where = fg_asprintf("%s:%u:%u: the value of '%s'", file, n->line, n->column, name);
	jinja_parse(&t, n->value, n->length, where, &diags);
	if (!t) {
		rc = fg_error_set(FG_EINVAL, "%s:%u:%u: %s", diags.items[0].file,
				  diags.items[0].line, diags.items[0].column, diags.items[0].message);
		goto done;
	}
	sub = *e;
	sub.t = t;
	sub.nesting++;
	sub.owned = NULL;
	sub.nowned = sub.aowned = 0;
	if (t->body.n == 1 && t->body.items[0]->k == S_OUT) {
		rc = eval(&sub, t->body.items[0]->x, v);
		if (!rc && (v->t == V_STR || v->t == V_SECRET || v->t == V_UNDEF))
			v->s = keep(e, fg_strdup(v->s));
	} else {
		fg_buf_init(&b);
		rc = render_list(&sub, &t->body, &b);
		if (!rc) {
			memset(v, 0, sizeof(*v));
			v->t = V_STR;
			v->subst = 1;
			v->s = keep(e, fg_buf_detach(&b));
		}
	}
	e->out_len = sub.out_len;
	fg_strings_free(sub.owned, sub.nowned);
done:
	fg_buf_release(&b);
	jinja_free(t);
	free(where);
	diags_release(&diags);
	return rc;
}

/* The value of YAML node `n` of `file`, the variable (or part) `name`. */
static int node_val(struct ev *e, const struct ynode *n, const char *file, const char *name,
		    struct val *v)
{
	int rc;

	memset(v, 0, sizeof(*v));
	if (n->type != YNODE_SCALAR) {
		v->t = V_NODE;
		v->node = n;
		v->file = file;
		return 0;
	}
	rc = scalar_val(n, v);
	if (rc) {
		char *why = fg_strdup(fg_error_message());

		fg_error_set(rc, "%s:%u:%u: %s", file, n->line, n->column, why);
		free(why);
		return rc;
	}
	if (v->t == V_STR && (strstr(v->s, "{{") || strstr(v->s, "{%") || strstr(v->s, "{#")))
		return nested(e, n, file, name, v);
	return 0;
}

static int eval_name(struct ev *e, const struct jx *x, struct val *v)
{
	const struct ynode *n;
	size_t i;

	memset(v, 0, sizeof(*v));
	if (e->use)
		e->use(e->uctx, x->s);
	for (i = 0; i < e->sc->nmaps; i++)
		if (e->sc->maps[i] && (n = ynode_get(e->sc->maps[i], x->s)))
			return node_val(e, n, e->sc->files[i], x->s, v);
	if (!strcmp(x->s, "inventory_hostname") && e->sc->hostname) {
		v->t = V_STR;
		v->s = e->sc->hostname;
	} else if (!strcmp(x->s, "desired_os_image")) {
		v->t = V_OS_IMAGE;
	} else {
		v->t = V_UNDEF;
		v->s = x->s;
	}
	return 0;
}

/* "a.b.c" of an attribute chain, malloc'd. */
static char *dotted(const struct jx *x)
{
	char *left, *r;

	if (x->k == X_NAME)
		return fg_strdup(x->s);
	if (x->k != X_ATTR)
		return fg_strdup("(...)");
	left = dotted(x->a);
	r = fg_asprintf("%s.%s", left, x->s);
	free(left);
	return r;
}

static int eval_attr(struct ev *e, const struct jx *x, struct val *v)
{
	const struct ynode *n;
	struct val obj;
	char *name;
	int rc = eval(e, x->a, &obj);

	if (rc)
		return rc;
	if (obj.t == V_UNDEF) {
		*v = obj; /* chainable, naming the first part that is missing */
		return 0;
	}
	if (obj.t != V_NODE || obj.node->type != YNODE_MAPPING)
		return fail(e, x->pos, "attribute '%s' of %s is not supported", x->s,
			    type_name(&obj));
	name = dotted(x);
	if (e->use)
		e->use(e->uctx, name);
	n = ynode_get(obj.node, x->s);
	if (!n) {
		memset(v, 0, sizeof(*v));
		v->t = V_UNDEF;
		v->s = keep(e, name);
		return 0;
	}
	rc = node_val(e, n, obj.file, name, v);
	free(name);
	return rc;
}

static size_t utf8_length(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int eval_length(struct ev *e, const struct jx *x, struct val *v)
{
	struct val a;
	int rc = eval(e, x->a, &a);

	if (rc)
		return rc;
	memset(v, 0, sizeof(*v));
	v->t = V_INT;
	if (a.t == V_STR)
		v->i = (long long)utf8_length(a.s);
	else if (a.t == V_NODE)
		v->i = (long long)(a.node->type == YNODE_MAPPING ? a.node->count / 2 : a.node->count);
	else if (a.t == V_SECRET)
		v->t = V_SECRET_LEN;
	else if (a.t == V_UNDEF)
		return fail(e, x->pos, "'%s' is undefined", a.s);
	else
		return fail(e, x->pos, "%s has no length", type_name(&a));
	return 0;
}

static int num(const struct val *v, double *d)
{
	if (v->t == V_BOOL || v->t == V_INT)
		*d = (double)v->i;
	else if (v->t == V_FLOAT)
		*d = v->f;
	else
		return 0;
	return 1;
}

static int cmp_result(int op, int c)
{
	switch (op) {
	case C_EQ:
		return c == 0;
	case C_NE:
		return c != 0;
	case C_LT:
		return c < 0;
	case C_GT:
		return c > 0;
	case C_LE:
		return c <= 0;
	default:
		return c >= 0;
	}
}

/* A secret's length against an integer: only what holds for any positive length. */
static int secret_len_cmp(const struct ev *e, const struct jx *x, const struct val *n, int *out)
{
	int op = (int)x->i;

	if (n->t == V_INT && n->i == 0 && op != C_LT && op != C_LE) {
		*out = op != C_EQ;
		return 0;
	}
	if (n->t == V_INT && n->i == 1 && (op == C_GE || op == C_LT)) {
		*out = op == C_GE;
		return 0;
	}
	return fail(e, x->pos,
		    "comparing a secret's length other than with > 0 or >= 1: the importer never reads secrets");
}

static int eval_cmp(struct ev *e, const struct jx *x, struct val *v)
{
	struct val a, b;
	double da, db;
	int rc, r = 0, op = (int)x->i;

	if ((rc = eval(e, x->a, &a)) || (rc = eval(e, x->b, &b)))
		return rc;
	if (a.t == V_UNDEF || b.t == V_UNDEF)
		return fail(e, x->pos, "'%s' is undefined", a.t == V_UNDEF ? a.s : b.s);
	if (a.t == V_SECRET_LEN)
		rc = secret_len_cmp(e, x, &b, &r);
	else if (num(&a, &da) && num(&b, &db))
		r = cmp_result(op, da < db ? -1 : da > db ? 1 : 0);
	else if (a.t == V_STR && b.t == V_STR)
		r = cmp_result(op, strcmp(a.s, b.s));
	else if (a.t == V_NONE && b.t == V_NONE && (op == C_EQ || op == C_NE))
		r = op == C_EQ;
	else if ((op == C_EQ || op == C_NE) && a.t <= V_STR && b.t <= V_STR)
		r = op == C_NE; /* different types are never equal */
	else
		rc = fail(e, x->pos, "comparing %s with %s is not supported", type_name(&a),
			  type_name(&b));
	memset(v, 0, sizeof(*v));
	v->t = V_BOOL;
	v->i = r;
	return rc;
}

static int eval_filter(struct ev *e, const struct jx *x, struct val *v)
{
	int rc = eval(e, x->a, v), t;

	if (rc)
		return rc;
	if (x->k == X_MANDATORY) {
		if (v->t != V_UNDEF)
			return 0;
		if (x->s)
			return fail(e, x->pos, "mandatory: %s", x->s);
		return fail(e, x->pos, "mandatory variable '%s' not defined", v->s);
	}
	/* default(value[, boolean]) */
	if (v->t != V_UNDEF) {
		if (!x->i)
			return 0;
		if ((rc = truth(e, v, x->pos, &t)) || t)
			return rc;
	}
	return eval(e, x->b, v);
}

static int eval_logic(struct ev *e, const struct jx *x, struct val *v)
{
	int rc = eval(e, x->a, v), t;

	if (rc || (rc = truth(e, v, x->a->pos, &t)))
		return rc;
	if (x->k == X_NOT) {
		memset(v, 0, sizeof(*v));
		v->t = V_BOOL;
		v->i = !t;
		return 0;
	}
	/* Python's and/or give an operand, not a boolean */
	if ((x->k == X_AND && !t) || (x->k == X_OR && t))
		return 0;
	return eval(e, x->b, v);
}

static int eval(struct ev *e, const struct jx *x, struct val *v)
{
	int rc, t;

	memset(v, 0, sizeof(*v));
	switch (x->k) {
	case X_NAME:
		return eval_name(e, x, v);
	case X_STR:
		v->t = V_STR;
		v->s = x->s;
		return 0;
	case X_INT:
	case X_BOOL:
		v->t = x->k == X_INT ? V_INT : V_BOOL;
		v->i = x->i;
		return 0;
	case X_FLOAT:
		v->t = V_FLOAT;
		v->f = x->f;
		return 0;
	case X_NONE:
		v->t = V_NONE;
		return 0;
	case X_ENV:
		if (!*x->s || strspn(x->s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(x->s))
			return fail(e, x->pos,
				    "lookup('env', '%s'): a fleetgate secret's name is A-Z, 0-9 and _",
				    x->s);
		v->t = V_SECRET;
		v->s = x->s;
		return 0;
	case X_ATTR:
		return eval_attr(e, x, v);
	case X_MANDATORY:
	case X_DEFAULT:
		return eval_filter(e, x, v);
	case X_LENGTH:
		return eval_length(e, x, v);
	case X_DEFINED:
		if ((rc = eval(e, x->a, v)))
			return rc;
		t = v->t != V_UNDEF;
		memset(v, 0, sizeof(*v));
		v->t = V_BOOL;
		v->i = x->i ? !t : t;
		return 0;
	case X_NOT:
	case X_AND:
	case X_OR:
		return eval_logic(e, x, v);
	case X_CMP:
		return eval_cmp(e, x, v);
	default: /* X_COND */
		if ((rc = eval(e, x->b, v)) || (rc = truth(e, v, x->b->pos, &t)))
			return rc;
		if (t)
			return eval(e, x->a, v);
		if (x->c)
			return eval(e, x->c, v);
		memset(v, 0, sizeof(*v));
		v->t = V_UNDEF;
		v->s = "the value of a false 'if' without 'else'";
		return 0;
	}
}

static int has_subst(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (s[i] == '$' && s[i + 1] == '{')
			return 1;
	return 0;
}

static int render_list(struct ev *e, const struct jlist *l, struct fg_buf *out)
{
	size_t i, before;
	struct val v;
	int rc, t;

	for (i = 0; i < l->n; i++) {
		const struct js *s = l->items[i];

		before = out->len;
		if (s->k == S_TEXT) {
			if (has_subst(s->text, s->len))
				return fail(e, s->pos,
					    "the template's text holds '${', which fleetgate would read as a substitution");
			fg_buf_put(out, s->text, s->len);
		} else if (s->k == S_OUT) {
			if ((rc = eval(e, s->x, &v)) || (rc = put_val(e, out, &v, s->x->pos)))
				return rc;
		} else {
			if ((rc = eval(e, s->x, &v)) || (rc = truth(e, &v, s->x->pos, &t)))
				return rc;
			if ((rc = render_list(e, t ? &s->then : &s->els, out)))
				return rc;
		}
		e->out_len += out->len - before;
		if (e->out_len > JINJA_MAX_OUTPUT)
			return fail(e, s->pos, "the rendering is longer than %d bytes",
				    JINJA_MAX_OUTPUT);
	}
	return 0;
}

int jinja_render(const struct jinja_template *t, const struct jinja_scope *scope,
		 jinja_use_fn names_used, void *ctx, char **out)
{
	struct fg_buf b = FG_BUF_INIT;
	struct ev e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.t = t;
	e.sc = scope;
	e.use = names_used;
	e.uctx = ctx;
	*out = NULL;
	fg_buf_init(&b);
	rc = render_list(&e, &t->body, &b);
	fg_strings_free(e.owned, e.nowned);
	if (rc) {
		fg_buf_release(&b);
		return rc;
	}
	*out = fg_buf_detach(&b);
	return 0;
}

int jinja_node_str(const struct jinja_scope *scope, const struct ynode *n, const char *file,
		   const char *name, char **out)
{
	static const struct jinja_template none = { (char *)"", 0, (char *)"", { 0 }, 0, 0, 0 };
	struct fg_buf b = FG_BUF_INIT;
	struct val v;
	struct ev e;
	int rc;

	memset(&e, 0, sizeof(e));
	e.t = &none;
	e.sc = scope;
	*out = NULL;
	if (n->type != YNODE_SCALAR)
		return fg_error_set(FG_EINVAL, "%s:%u:%u: '%s' must be a scalar", file, n->line,
				    n->column, name);
	fg_buf_init(&b);
	rc = node_val(&e, n, file, name, &v);
	if (!rc && v.t == V_UNDEF)
		rc = fg_error_set(FG_EINVAL, "%s:%u:%u: '%s' is undefined", file, n->line,
				  n->column, v.s);
	else if (!rc)
		rc = put_val(&e, &b, &v, 0);
	fg_strings_free(e.owned, e.nowned);
	if (rc) {
		fg_buf_release(&b);
		return rc;
	}
	*out = fg_buf_detach(&b);
	return 0;
}
