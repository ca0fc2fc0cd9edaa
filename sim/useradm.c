#include "useradm.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"

/* services/useradm/config.yaml: 1 week logins, 10 sessions and 10 personal
 * access tokens per user, PAT lifetime at most a year. */
#define LOGIN_TTL_S 604800
#define SESSIONS_MAX 10
#define PATS_MAX 10
#define PAT_MAX_EXPIRES_IN 31536000

struct session {
	char *token;
	int64_t exp_us; /* 0: never */
};

struct pat {
	char id[25];
	char *name;
	char *token;
	int64_t created_us, exp_us, last_used_us; /* 0: unset / never */
};

struct sim_auth {
	char *token;
	char *user;
	char *password;
	char user_id[37];
	struct session sessions[SESSIONS_MAX];
	size_t nsessions;
	struct pat *pats;
	size_t npats, apats;
};

struct sim_auth *sim_auth_new(const char *token, const char *user, const char *password)
{
	struct sim_auth *a = sim_xcalloc(1, sizeof(*a));

	a->token = token ? sim_xstrdup(token) : NULL;
	a->user = user ? sim_xstrdup(user) : NULL;
	a->password = password ? sim_xstrdup(password) : NULL;
	sim_uuid4(a->user_id);
	return a;
}

static void pat_release(struct pat *p)
{
	free(p->name);
	free(p->token);
}

void sim_auth_free(struct sim_auth *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nsessions; i++)
		free(a->sessions[i].token);
	for (i = 0; i < a->npats; i++)
		pat_release(&a->pats[i]);
	free(a->pats);
	free(a->token);
	free(a->user);
	free(a->password);
	free(a);
}

/* api/http/utils.go ExtractToken: the Authorization header, else the JWT
 * cookie. Returns a malloc'd token or NULL with `*err` set. */
static char *extract_token(const struct sim_request *req, const char **err)
{
	const char *p = req->authorization, *q;

	if (p && *p) {
		while (isspace((unsigned char)*p))
			p++;
		q = p;
		while (*q && !isspace((unsigned char)*q))
			q++;
		if ((size_t)(q - p) != 6 || strncasecmp(p, "Bearer", 6))
			goto malformed;
		while (isspace((unsigned char)*q))
			q++;
		p = q;
		while (*q && !isspace((unsigned char)*q))
			q++;
		if (q == p)
			goto malformed;
		return sim_xstrndup(p, (size_t)(q - p));
	}
	for (p = req->cookie; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		q = p + strcspn(p, ";");
		/* cppcheck takes the loop's test of p for a sign that p may be
		 * NULL here; only the cookie may be, and q is p plus a length */
		if (!strncmp(p, "JWT=", 4) && q > p + 4)
			/* cppcheck-suppress nullPointerArithmeticRedundantCheck */
			return sim_xstrndup(p + 4, (size_t)(q - p - 4));
		p = q;
	}
	*err = "authorization not present in header";
	return NULL;
malformed:
	*err = "malformed Authorization header";
	return NULL;
}

bool sim_auth_check(struct sim_auth *a, const struct sim_request *req, struct sim_response *res,
		    int64_t now)
{
	const char *err = NULL;
	char *tok = extract_token(req, &err);
	bool ok = false;
	size_t i;

	if (!tok) {
		sim_res_error(res, req, 401, "%s", err);
		return false;
	}
	for (i = 0; i < a->npats && !ok; i++) {
		struct pat *p = &a->pats[i];

		if (sim_secret_equal(tok, p->token) && (!p->exp_us || p->exp_us > now)) {
			p->last_used_us = now;
			ok = true;
		}
	}
	for (i = 0; i < a->nsessions && !ok; i++)
		ok = sim_secret_equal(tok, a->sessions[i].token) &&
		     (!a->sessions[i].exp_us || a->sessions[i].exp_us > now);
	if (!ok && a->token)
		ok = sim_secret_equal(tok, a->token);
	if (!ok && !a->token && !a->user)
		ok = true; /* open mode: any bearer token */
	free(tok);
	if (!ok)
		sim_res_error(res, req, 401, "invalid jwt");
	return ok;
}

char *sim_jwt_make(cJSON *claims)
{
	static const char header[] = "{\"alg\":\"RS256\",\"typ\":\"JWT\"}";
	struct sim_buf b = SIM_BUF_INIT;
	unsigned char sig[64];
	char *text = sim_json_print(claims);

	cJSON_Delete(claims);
	sim_buf_put_base64url(&b, header, sizeof(header) - 1);
	sim_buf_puts(&b, ".");
	sim_buf_put_base64url(&b, text, strlen(text));
	sim_buf_puts(&b, ".");
	sim_random(sig, sizeof(sig));
	sim_buf_put_base64url(&b, sig, sizeof(sig));
	free(text);
	return sim_buf_detach(&b);
}

/* A user's token (useradm's claims). */
static char *make_jwt(const struct sim_auth *a, int64_t now, int64_t exp_us, bool pat)
{
	cJSON *claims = cJSON_CreateObject();
	char jti[37];

	sim_uuid4(jti);
	cJSON_AddStringToObject(claims, "jti", jti);
	cJSON_AddStringToObject(claims, "sub", a->user_id);
	if (exp_us)
		cJSON_AddNumberToObject(claims, "exp", (double)(exp_us / 1000000));
	cJSON_AddNumberToObject(claims, "iat", (double)(now / 1000000));
	cJSON_AddStringToObject(claims, "iss", "Mender Users");
	cJSON_AddStringToObject(claims, "scp", "mender.*");
	cJSON_AddBoolToObject(claims, "mender.user", true);
	if (pat)
		cJSON_AddBoolToObject(claims, "mender.pat", true);
	return sim_jwt_make(claims);
}

/* Go's http.Request.BasicAuth. */
static bool basic_auth(const char *header, char **user, char **pass)
{
	char *decoded, *colon;

	if (!header || strncasecmp(header, "Basic ", 6))
		return false;
	decoded = sim_base64_decode(header + 6, NULL);
	if (!decoded)
		return false;
	colon = strchr(decoded, ':');
	if (!colon) {
		free(decoded);
		return false;
	}
	*user = sim_xstrndup(decoded, (size_t)(colon - decoded));
	*pass = sim_xstrdup(colon + 1);
	free(decoded);
	return true;
}

void sim_useradm_login(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	struct sim_auth *a = sim->auth;
	char *user = NULL, *pass = NULL, *jwt;
	bool no_expiry = false;
	int64_t now = sim_now_us();
	cJSON *opts = NULL;

	if (!basic_auth(req->authorization, &user, &pass)) {
		sim_res_error(res, req, 401, "invalid or missing auth header");
		goto done;
	}
	if (req->body_len) {
		const cJSON *v;

		opts = sim_req_json(req, res, "failed to decode request body");
		if (!opts)
			goto done;
		v = sim_json_get(opts, "no_expiry");
		if (!cJSON_IsObject(opts) || (v && !cJSON_IsBool(v))) {
			sim_res_error(res, req, 400, "failed to decode request body: %s",
				      "expected {\"no_expiry\": <bool>}");
			goto done;
		}
		no_expiry = cJSON_IsTrue(v);
	}
	/* The e-mail is compared lower-cased, as useradm stores it. */
	if (a->user && (strcasecmp(user, a->user) || !sim_secret_equal(pass, a->password))) {
		sim_res_error(res, req, 401, "unauthorized");
		goto done;
	}
	if (a->nsessions == SESSIONS_MAX) {
		free(a->sessions[0].token);
		memmove(a->sessions, a->sessions + 1, (SESSIONS_MAX - 1) * sizeof(*a->sessions));
		a->nsessions--;
	}
	a->sessions[a->nsessions].exp_us = no_expiry ? 0 : now + (int64_t)LOGIN_TTL_S * 1000000;
	jwt = make_jwt(a, now, a->sessions[a->nsessions].exp_us, false);
	a->sessions[a->nsessions++].token = jwt;
	sim_res_text(res, 200, "application/jwt", jwt);
done:
	cJSON_Delete(opts);
	free(user);
	free(pass);
}

void sim_useradm_logout(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	struct sim_auth *a = sim->auth;
	const char *err;
	char *tok = extract_token(req, &err);
	size_t i;

	for (i = 0; tok && i < a->nsessions; i++) {
		if (sim_secret_equal(tok, a->sessions[i].token)) {
			free(a->sessions[i].token);
			memmove(&a->sessions[i], &a->sessions[i + 1],
				(a->nsessions - i - 1) * sizeof(*a->sessions));
			a->nsessions--;
			break;
		}
	}
	free(tok);
	sim_res_empty(res, 202);
}

static void add_time(cJSON *o, const char *key, int64_t us)
{
	char ts[32];

	sim_format_time(us, ts);
	cJSON_AddStringToObject(o, key, ts);
}

void sim_useradm_tokens_list(struct sim *sim, const struct sim_request *req,
			     struct sim_response *res)
{
	struct sim_auth *a = sim->auth;
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	(void)req;
	for (i = 0; i < a->npats; i++) {
		const struct pat *p = &a->pats[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", p->id);
		cJSON_AddStringToObject(o, "name", p->name);
		if (p->last_used_us)
			add_time(o, "last_used", p->last_used_us);
		/* model/token.go: omitted for a token that never expires. */
		if (p->exp_us)
			add_time(o, "expiration_date", p->exp_us);
		add_time(o, "created_ts", p->created_us);
		cJSON_AddItemToArray(arr, o);
	}
	sim_res_json(res, 200, arr);
}

void sim_useradm_tokens_create(struct sim *sim, const struct sim_request *req,
			       struct sim_response *res)
{
	struct sim_auth *a = sim->auth;
	int64_t now = sim_now_us(), expires_in = 0;
	const cJSON *name, *exp;
	struct pat *p;
	cJSON *o;
	size_t i;

	o = sim_req_json(req, res, "cannot parse request body as json");
	if (!o)
		return;
	name = sim_json_get(o, "name");
	exp = sim_json_get(o, "expires_in");
	if (!cJSON_IsObject(o) || (name && !cJSON_IsString(name) && !cJSON_IsNull(name)) ||
	    (exp && !cJSON_IsNull(exp) && !sim_json_is_int(exp, -9.2e18, 9.2e18))) {
		sim_res_error(res, req, 400, "cannot parse request body as json");
		goto done;
	}
	if (!cJSON_IsString(name) || !*name->valuestring) {
		sim_res_error(res, req, 400, "name: cannot be blank.");
		goto done;
	}
	if (strlen(name->valuestring) > 4096) {
		sim_res_error(res, req, 400, "name: the length must be no more than 4096.");
		goto done;
	}
	if (cJSON_IsNumber(exp))
		expires_in = (int64_t)exp->valuedouble;
	if (expires_in < 0) {
		sim_res_error(res, req, 400, "expires_in: must be no less than 0.");
		goto done;
	}
	if (expires_in > PAT_MAX_EXPIRES_IN) {
		sim_res_error(res, req, 400, "expires_in: must be no greater than %d.",
			      PAT_MAX_EXPIRES_IN);
		goto done;
	}
	if (a->npats >= PATS_MAX) {
		sim_res_error(res, req, 422,
			      "maximum number of personal acess tokens reached for this user");
		goto done;
	}
	for (i = 0; i < a->npats; i++) {
		if (!strcmp(a->pats[i].name, name->valuestring)) {
			sim_res_error(res, req, 409,
				      "Personal Access Token with a given name already exists");
			goto done;
		}
	}
	sim_grow((void **)&a->pats, &a->apats, a->npats + 1, sizeof(*a->pats));
	p = &a->pats[a->npats++];
	memset(p, 0, sizeof(*p));
	sim_hexid(p->id);
	p->name = sim_xstrdup(name->valuestring);
	p->created_us = now;
	p->exp_us = expires_in ? now + expires_in * 1000000 : 0;
	p->token = make_jwt(a, now, p->exp_us, true);
	sim_res_text(res, 200, "application/jwt", p->token);
done:
	cJSON_Delete(o);
}

void sim_useradm_tokens_delete(struct sim *sim, const struct sim_request *req,
			       struct sim_response *res)
{
	struct sim_auth *a = sim->auth;
	size_t i;

	for (i = 0; i < a->npats; i++) {
		if (!strcmp(a->pats[i].id, req->params[0])) {
			pat_release(&a->pats[i]);
			memmove(&a->pats[i], &a->pats[i + 1], (a->npats - i - 1) * sizeof(*a->pats));
			a->npats--;
			break;
		}
	}
	sim_res_empty(res, 204);
}
