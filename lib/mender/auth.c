/* Logging in, and the client's life: mender_client_new and _free. */
#include "mender/mender.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/hmac.h"
#include "mender/request.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKEN_LEN 16384

static int login(struct mender_client *c, const struct mender_settings *s, int64_t deadline)
{
	struct op *op = op_new(c, FG_HTTP_POST, P_LOGIN);
	struct fg_buf tok = FG_BUF_INIT;
	size_t i;
	int err;

	op->req.bearer = NULL;
	op->req.user = s->user;
	op->req.password = s->password;
	op->req.accept = "application/jwt";
	op->req.replay_safe = 1; /* a second login only makes a second session */
	err = run_one(c, deadline, op);
	if (err)
		goto done;
	if (!req_ok(&op->req, 200)) {
		err = fail_response(c, &op->req);
		if (op->req.status == 400 || op->req.status == 401)
			err = FG_EAUTH;
		err = fg_error_wrap(err, "logging in to %s as '%s'", c->server, s->user);
		goto done;
	}
	fg_buf_init(&tok);
	fg_buf_put(&tok, op->req.response.ptr, op->req.response.len);
	while (tok.len && isspace((unsigned char)tok.ptr[tok.len - 1]))
		tok.ptr[--tok.len] = '\0';
	for (i = 0; i < tok.len; i++)
		if (!isalnum((unsigned char)tok.ptr[i]) && !strchr("-_.=+/", tok.ptr[i]))
			break;
	if (!tok.len || i < tok.len || tok.len > MAX_TOKEN_LEN) {
		err = fg_error_set(FG_EHTTP, "logging in to %s as '%s': the reply is not a token",
				   c->server, s->user);
		goto done;
	}
	c->token = fg_buf_detach(&tok);
	fg_http_add_secret(c->http, c->token);
done:
	if (tok.ptr) {
		explicit_bzero(tok.ptr, tok.alloc);
		fg_buf_release(&tok);
	}
	if (op->req.response.ptr)
		explicit_bzero(op->req.response.ptr, op->req.response.len);
	op_free(op);
	return err;
}

/* The Basic credentials as they travel, in case a trace shows them. */
static void add_basic_secret(struct mender_client *c, const struct fg_buf *basic)
{
	char *enc = base64_encode(basic->ptr, basic->len);

	fg_http_add_secret(c->http, enc);
	explicit_bzero(enc, strlen(enc));
	free(enc);
}

int mender_client_new(struct mender_client **out, const struct mender_settings *s)
{
	struct mender_client *c = NULL;
	struct fg_buf basic = FG_BUF_INIT;
	size_t n;
	int err = 0;

	*out = NULL;
	if (!s->server || (strncmp(s->server, "https://", 8) && strncmp(s->server, "http://", 7))) {
		err = fg_error_set(FG_EINVAL, "Mender server URL '%s' must start with https:// or http://",
				   s->server ? s->server : "");
		goto done;
	}
	if (!(s->token && *s->token) && !(s->user && *s->user && s->password)) {
		err = fg_error_set(FG_EAUTH, "no Mender credentials: give a personal access token, or a user and a password");
		goto done;
	}
	c = fg_calloc(1, sizeof(*c));
	n = strlen(s->server);
	while (n > 0 && s->server[n - 1] == '/')
		n--;
	c->server = fg_strndup(s->server, n);
	c->deadline_ms = s->deadline_ms;
	c->page_size = s->page_size && s->page_size <= MENDER_MAX_PAGE_SIZE ? s->page_size : MENDER_MAX_PAGE_SIZE;
	err = fg_http_new(&c->http, &s->http);
	if (err)
		goto done;
	if (s->token && *s->token) {
		for (n = 0; s->token[n]; n++)
			if ((unsigned char)s->token[n] <= ' ' || s->token[n] == 0x7f) {
				err = fg_error_set(FG_EAUTH, "the Mender access token contains blanks or control characters");
				goto done;
			}
		c->token = fg_strdup(s->token);
		fg_http_add_secret(c->http, c->token);
	} else {
		fg_http_add_secret(c->http, s->password);
		fg_buf_init(&basic);
		fg_buf_printf(&basic, "%s:%s", s->user, s->password);
		add_basic_secret(c, &basic);
		err = login(c, s, call_deadline(c));
		if (err)
			goto done;
	}
	*out = c;
	c = NULL;
done:
	if (basic.ptr) {
		explicit_bzero(basic.ptr, basic.alloc);
		fg_buf_release(&basic);
	}
	mender_client_free(c);
	return err;
}

void mender_client_free(struct mender_client *c)
{
	if (!c)
		return;
	fg_http_free(c->http);
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->server);
	free(c);
}
