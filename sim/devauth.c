/*
 * Device authentication and admission, as mender-server's deviceauth
 * serves them (v4.0.4 and v4.1.x alike): api/http/api_devauth.go
 * SubmitAuthRequestHandler, devauth/devauth.go SubmitAuthRequest,
 * utils/crypto.go VerifyAuthReqSign, model/authreq.go Validate.
 *
 * The signature check goes through libcrypto: X-MEN-Signature is the
 * base64 of the device key's signature over the body's SHA-256 (RSA
 * PKCS#1 v1.5, ECDSA in ASN.1 DER) or over the body itself (Ed25519).
 */
#include "devices.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "useradm.h"

struct sim_devtoken {
	char jti[37]; /* the authentication set's id, as deviceauth's jti */
	char device_id[37];
	int64_t exp_us;
};

struct sim_devices *sim_devices_new(bool manual_admission)
{
	struct sim_devices *d = sim_xcalloc(1, sizeof(*d));

	d->manual_admission = manual_admission;
	d->tokens = sim_map_new();
	d->blobs = sim_map_new();
	d->logs = sim_map_new();
	sim_random(d->link_key, sizeof(d->link_key));
	return d;
}

static void free_value(const char *key, void *value, void *arg)
{
	(void)key;
	(void)arg;
	free(value);
}

static void free_blob(const char *key, void *value, void *arg)
{
	struct sim_blob *b = value;

	(void)key;
	(void)arg;
	free(b->data);
	free(b);
}

void sim_devices_free(struct sim_devices *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nsets; i++) {
		free(d->sets[i]->id_data);
		free(d->sets[i]->pubkey);
		free(d->sets[i]);
	}
	free(d->sets);
	sim_map_each(d->tokens, free_value, NULL);
	sim_map_free(d->tokens);
	sim_map_each(d->blobs, free_blob, NULL);
	sim_map_free(d->blobs);
	sim_map_each(d->logs, free_value, NULL);
	sim_map_free(d->logs);
	explicit_bzero(d->link_key, sizeof(d->link_key));
	free(d);
}

void sim_devices_put_blob(struct sim_devices *d, const char *artifact_id, unsigned char *data,
			  size_t len)
{
	struct sim_blob *old = sim_map_del(d->blobs, artifact_id);

	if (old)
		free_blob(artifact_id, old, NULL);
	if (data) {
		struct sim_blob *b = sim_xcalloc(1, sizeof(*b));

		b->data = data;
		b->len = len;
		sim_map_put(d->blobs, artifact_id, b);
	}
}

/* The Bearer token of a request, or NULL. Points into the header. */
static const char *bearer(const struct sim_request *req)
{
	const char *a = req->authorization;

	if (!a || strncasecmp(a, "Bearer ", 7))
		return NULL;
	a += 7;
	while (*a == ' ')
		a++;
	return *a ? a : NULL;
}

bool sim_devauth_is_device_token(const struct sim_devices *d, const struct sim_request *req)
{
	const char *tok = bearer(req);

	return tok && sim_map_get(d->tokens, tok);
}

const char *sim_devauth_device(struct sim *sim, const struct sim_request *req,
			       struct sim_response *res)
{
	const char *tok = bearer(req);
	struct sim_devtoken *t = tok ? sim_map_get(sim->devices->tokens, tok) : NULL;

	if (t && t->exp_us > sim_now_us() && sim_store_device(sim->store, t->device_id))
		return t->device_id;
	sim_res_error(res, req, 401, "%s", tok ? "unauthorized" : "missing authorization header");
	return NULL;
}

/* A device token with deviceauth's claims (jwt/claims.go). */
static char *device_jwt(const struct sim_authset *set, int64_t now, int64_t exp_us)
{
	cJSON *claims = cJSON_CreateObject();

	cJSON_AddStringToObject(claims, "jti", set->id);
	cJSON_AddStringToObject(claims, "sub", set->device_id);
	cJSON_AddNumberToObject(claims, "exp", (double)(exp_us / 1000000));
	cJSON_AddNumberToObject(claims, "iat", (double)(now / 1000000));
	cJSON_AddStringToObject(claims, "iss", "Mender");
	cJSON_AddBoolToObject(claims, "mender.device", true);
	cJSON_AddStringToObject(claims, "mender.plan", "enterprise");
	return sim_jwt_make(claims);
}

/* The keys of the tokens drop_tokens removes (sim_map_each must not
 * change the map it walks). */
struct token_drop {
	const char *device_id; /* NULL: every device */
	char **keys;
	size_t n, alloc;
};

static void collect_token(const char *key, void *value, void *arg)
{
	struct token_drop *drop = arg;
	const struct sim_devtoken *t = value;

	if (drop->device_id && strcmp(drop->device_id, t->device_id))
		return;
	sim_grow((void **)&drop->keys, &drop->alloc, drop->n + 1, sizeof(*drop->keys));
	drop->keys[drop->n++] = sim_xstrdup(key);
}

static void drop_tokens(struct sim_devices *d, const char *device_id)
{
	struct token_drop drop = { device_id, NULL, 0, 0 };
	size_t i;

	sim_map_each(d->tokens, collect_token, &drop);
	for (i = 0; i < drop.n; i++) {
		free(sim_map_del(d->tokens, drop.keys[i]));
		explicit_bzero(drop.keys[i], strlen(drop.keys[i]));
		free(drop.keys[i]);
	}
	free(drop.keys);
}

/* The public key of a PEM text, re-serialised as deviceauth does
 * (ParsePubKey, SerializePubKey: PKIX "PUBLIC KEY" of RSA, ECDSA or
 * Ed25519). NULL with the server's message in `*why`. */
static EVP_PKEY *parse_pubkey(const char *pem, char **normalised, const char **why)
{
	BIO *in = BIO_new_mem_buf(pem, -1), *out = NULL;
	EVP_PKEY *key = in ? PEM_read_bio_PUBKEY(in, NULL, NULL, NULL) : NULL;
	char *p;
	long n;

	BIO_free(in);
	*normalised = NULL;
	if (!key) {
		*why = "cannot decode public key";
		return NULL;
	}
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA && EVP_PKEY_base_id(key) != EVP_PKEY_EC &&
	    EVP_PKEY_base_id(key) != EVP_PKEY_ED25519) {
		*why = "unrecognized public key type";
		EVP_PKEY_free(key);
		return NULL;
	}
	out = BIO_new(BIO_s_mem());
	if (!out || !PEM_write_bio_PUBKEY(out, key)) {
		*why = "cannot encode public key";
		BIO_free(out);
		EVP_PKEY_free(key);
		return NULL;
	}
	n = BIO_get_mem_data(out, &p);
	*normalised = sim_xstrndup(p, (size_t)n);
	BIO_free(out);
	return key;
}

/* VerifyAuthReqSign: the signature over the body with the device's key. */
static bool signature_valid(EVP_PKEY *key, const char *sig_b64, const char *body, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 0;
	unsigned char *sig = (unsigned char *)sim_base64_decode(sig_b64, &siglen);
	const EVP_MD *md = EVP_PKEY_base_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
	bool ok = ctx && sig && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
		  EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)body, len) == 1;

	EVP_MD_CTX_free(ctx);
	free(sig);
	return ok;
}

/* A copy of `v` with every object's keys in byte order (Go's
 * encoding/json of a map, which devauth's JsonSort relies on). */
static cJSON *sorted_copy(const cJSON *v)
{
	const cJSON *c, **kids;
	cJSON *out;
	size_t n = 0, i, j;

	if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
		return cJSON_Duplicate(v, true);
	if (cJSON_IsArray(v)) {
		out = cJSON_CreateArray();
		cJSON_ArrayForEach(c, v)
			cJSON_AddItemToArray(out, sorted_copy(c));
		return out;
	}
	cJSON_ArrayForEach(c, v)
		n++;
	kids = sim_xcalloc(n ? n : 1, sizeof(*kids));
	n = 0;
	cJSON_ArrayForEach(c, v) {
		for (j = n; j > 0 && strcmp(kids[j - 1]->string, c->string) > 0; j--)
			kids[j] = kids[j - 1];
		kids[j] = c;
		n++;
	}
	out = cJSON_CreateObject();
	for (i = 0; i < n; i++)
		cJSON_AddItemToObject(out, kids[i]->string, sorted_copy(kids[i]));
	free(kids);
	return out;
}

static struct sim_authset *find_set(const struct sim_devices *d, const char *id_data,
				    const char *pubkey)
{
	size_t i;

	for (i = 0; i < d->nsets; i++)
		if (!strcmp(d->sets[i]->id_data, id_data) &&
		    (!pubkey || !strcmp(d->sets[i]->pubkey, pubkey)))
			return d->sets[i];
	return NULL;
}

static void set_identity_status(struct sim_device *dev, const char *status, int64_t now)
{
	sim_attrs_set(&dev->attrs[SIM_SCOPE_IDENTITY], "status", cJSON_CreateString(status), NULL,
		      0);
	sim_device_touch(dev, now);
}

/* A device for a new identity: in the store like a seeded one, its
 * identity attributes those of id_data, driven by its client. */
static struct sim_device *new_device(struct sim *sim, const cJSON *identity, int64_t now)
{
	cJSON *doc = cJSON_CreateObject(), *devs = cJSON_AddArrayToObject(doc, "devices");
	cJSON *e = cJSON_CreateObject();
	struct sim_buf err = SIM_BUF_INIT;
	struct sim_device *dev = NULL;
	const cJSON *c;
	char id[37];

	sim_uuid4(id);
	cJSON_AddStringToObject(e, "id", id);
	cJSON_AddStringToObject(e, "behaviour", "real");
	cJSON_AddStringToObject(e, "status", "pending");
	cJSON_AddItemToArray(devs, e);
	if (sim_store_seed(sim->store, doc, false, &err) == 0)
		dev = sim_store_device(sim->store, id);
	cJSON_Delete(doc);
	sim_buf_release(&err);
	if (!dev)
		return NULL;
	cJSON_ArrayForEach(c, identity)
		if (strcmp(c->string, "status") && sim_attr_value_valid(c))
			sim_attrs_set(&dev->attrs[SIM_SCOPE_IDENTITY], c->string,
				      cJSON_Duplicate(c, true), NULL, 0);
	sim_device_touch(dev, now);
	return dev;
}

/* processAuthRequest: the authentication set of this identity and key,
 * made (with its device) when new. */
static struct sim_authset *admit(struct sim *sim, const cJSON *identity, const char *id_data,
				 const char *pubkey, int64_t now)
{
	struct sim_devices *d = sim->devices;
	struct sim_authset *same_identity = find_set(d, id_data, NULL);
	struct sim_authset *set = find_set(d, id_data, pubkey);
	struct sim_device *dev;

	if (set)
		return set;
	dev = same_identity ? sim_store_device(sim->store, same_identity->device_id)
			    : new_device(sim, identity, now);
	if (!dev)
		return NULL;
	set = sim_xcalloc(1, sizeof(*set));
	sim_uuid4(set->id);
	snprintf(set->device_id, sizeof(set->device_id), "%s", dev->id);
	set->id_data = sim_xstrdup(id_data);
	set->pubkey = sim_xstrdup(pubkey);
	/* Auto-acceptance stands in for preauthorisation; a new key of a
	 * known identity always waits, as in Mender. */
	set->status = d->manual_admission || same_identity ? "pending" : "accepted";
	set->ts_us = now;
	sim_grow((void **)&d->sets, &d->asets, d->nsets + 1, sizeof(*d->sets));
	d->sets[d->nsets++] = set;
	if (!same_identity)
		set_identity_status(dev, set->status, now);
	return set;
}

static char *issue_token(struct sim_devices *d, const struct sim_authset *set, int64_t now)
{
	struct sim_devtoken *t = sim_xcalloc(1, sizeof(*t));
	char *jwt;

	t->exp_us = now + (int64_t)SIM_DEVICE_TOKEN_EXPIRE_S * 1000000;
	memcpy(t->jti, set->id, sizeof(t->jti));
	memcpy(t->device_id, set->device_id, sizeof(t->device_id));
	jwt = device_jwt(set, now, t->exp_us);
	sim_map_put(d->tokens, jwt, t);
	return jwt;
}

/* The request's id_data, pubkey and the parsed key; false after a 400. */
struct auth_req {
	cJSON *doc, *identity;
	char *id_data, *pubkey;
	EVP_PKEY *key;
};

static bool read_auth_req(const struct sim_request *req, struct sim_response *res,
			  struct auth_req *ar)
{
	const char *err, *why = NULL, *id_data, *pubkey;

	ar->doc = sim_json_parse(req->body ? req->body : "", req->body_len, &err);
	if (!ar->doc || !cJSON_IsObject(ar->doc)) {
		sim_res_error(res, req, 400, "failed to decode auth request: %s",
			      ar->doc ? "not an object" : err);
		return false;
	}
	id_data = sim_json_get_string(ar->doc, "id_data");
	pubkey = sim_json_get_string(ar->doc, "pubkey");
	if (!id_data || !*id_data)
		why = "id_data must be provided";
	else if (!pubkey || !*pubkey)
		why = "pubkey must be provided";
	else if (!(ar->key = parse_pubkey(pubkey, &ar->pubkey, &why)))
		;
	else if (!(ar->identity = sim_json_parse(id_data, strlen(id_data), &err)) ||
		 !cJSON_IsObject(ar->identity))
		why = "invalid character in id_data: not a JSON object";
	if (why) {
		sim_res_error(res, req, 400, "invalid auth request: %s", why);
		return false;
	}
	{
		cJSON *sorted = sorted_copy(ar->identity);

		ar->id_data = sim_json_print(sorted);
		cJSON_Delete(sorted);
	}
	if (!req->signature || !*req->signature) {
		sim_res_error(res, req, 400, "missing request signature header");
		return false;
	}
	return true;
}

void sim_devauth_auth_request(struct sim *sim, const struct sim_request *req,
			      struct sim_response *res)
{
	struct auth_req ar = { 0 };
	struct sim_authset *set;
	int64_t now = sim_now_us();
	char *jwt;

	if (!read_auth_req(req, res, &ar))
		goto done;
	set = admit(sim, ar.identity, ar.id_data, ar.pubkey, now);
	if (!set) {
		sim_res_error(res, req, 500, "internal error");
		goto done;
	}
	/* As SubmitAuthRequestHandler: the signature is checked once the set
	 * is accepted, so a pending device learns nothing more. */
	if (strcmp(set->status, "accepted")) {
		sim_res_error(res, req, 401, "dev auth: unauthorized");
		goto done;
	}
	if (!signature_valid(ar.key, req->signature, req->body, req->body_len)) {
		sim_res_error(res, req, 401, "signature verification failed");
		goto done;
	}
	jwt = issue_token(sim->devices, set, now);
	sim_res_text(res, 200, "application/jwt", jwt);
	explicit_bzero(jwt, strlen(jwt));
	free(jwt);
done:
	EVP_PKEY_free(ar.key);
	cJSON_Delete(ar.doc);
	cJSON_Delete(ar.identity);
	free(ar.id_data);
	free(ar.pubkey);
}

/* A device as GET /api/management/v2/devauth/devices shows it. */
static cJSON *device_json(const struct sim_devices *d, const struct sim_device *dev)
{
	cJSON *o = cJSON_CreateObject(), *ident = cJSON_CreateObject(), *sets;
	const struct sim_attrs *id = &dev->attrs[SIM_SCOPE_IDENTITY];
	const char *status = sim_device_string(dev, SIM_SCOPE_IDENTITY, "status");
	char ts[32];
	size_t i;

	cJSON_AddStringToObject(o, "id", dev->id);
	for (i = 0; i < id->n; i++)
		if (strcmp(id->v[i].name, "status"))
			cJSON_AddItemToObject(ident, id->v[i].name,
					      cJSON_Duplicate(id->v[i].value, true));
	cJSON_AddItemToObject(o, "identity_data", ident);
	cJSON_AddStringToObject(o, "status", status ? status : "noauth");
	cJSON_AddBoolToObject(o, "decommissioning", false);
	sim_format_time(dev->created_us, ts);
	cJSON_AddStringToObject(o, "created_ts", ts);
	sim_format_time(dev->updated_us, ts);
	cJSON_AddStringToObject(o, "updated_ts", ts);
	sets = cJSON_AddArrayToObject(o, "auth_sets");
	for (i = 0; i < d->nsets; i++) {
		const struct sim_authset *s = d->sets[i];
		cJSON *e;

		if (strcmp(s->device_id, dev->id))
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "id", s->id);
		/* id_data was printed by the stand-in: it parses */
		cJSON_AddItemToObject(e, "identity_data", cJSON_Parse(s->id_data));
		cJSON_AddStringToObject(e, "pubkey", s->pubkey);
		sim_format_time(s->ts_us, ts);
		cJSON_AddStringToObject(e, "ts", ts);
		cJSON_AddStringToObject(e, "status", s->status);
		cJSON_AddItemToArray(sets, e);
	}
	return o;
}

void sim_devauth_list(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	const char *status = sim_req_arg(req, "status");
	struct sim_store *s = sim->store;
	const struct sim_device **match;
	struct sim_paging pg;
	size_t i, n = 0, start, end;
	cJSON *out;

	if (!sim_req_paging(req, res, 500, &pg))
		return;
	match = sim_xcalloc(s->ndevices ? s->ndevices : 1, sizeof(*match));
	for (i = 0; i < s->ndevices; i++) {
		const char *st = sim_device_string(s->order[i], SIM_SCOPE_IDENTITY, "status");

		if (!status || (st && !strcmp(st, status)))
			match[n++] = s->order[i];
	}
	sim_paging_slice(&pg, n, &start, &end);
	out = cJSON_CreateArray();
	for (i = start; i < end; i++)
		cJSON_AddItemToArray(out, device_json(sim->devices, match[i]));
	free(match);
	sim_res_links(res, req, &pg, -1, end < n);
	sim_res_json(res, 200, out);
}

void sim_devauth_get(struct sim *sim, const struct sim_request *req, struct sim_response *res)
{
	const struct sim_device *dev = sim_store_device(sim->store, req->params[0]);

	if (!dev) {
		sim_res_error(res, req, 404, "device not found");
		return;
	}
	sim_res_json(res, 200, device_json(sim->devices, dev));
}

/* UpdateDeviceStatusHandler: accept, reject or reset one set. Accepting
 * one rejects the device's other accepted sets; leaving "accepted"
 * revokes the device's tokens. */
void sim_devauth_set_status(struct sim *sim, const struct sim_request *req,
			    struct sim_response *res)
{
	struct sim_devices *d = sim->devices;
	struct sim_device *dev = sim_store_device(sim->store, req->params[0]);
	struct sim_authset *set = NULL;
	const char *status, *st = NULL;
	cJSON *body;
	size_t i;

	body = sim_req_json(req, res, "failed to decode status data");
	if (!body)
		return;
	status = sim_json_get_string(body, "status");
	if (status && !strcmp(status, "accepted"))
		st = "accepted";
	else if (status && !strcmp(status, "rejected"))
		st = "rejected";
	else if (status && !strcmp(status, "pending"))
		st = "pending";
	cJSON_Delete(body);
	if (!st) {
		sim_res_error(res, req, 400, "incorrect device status");
		return;
	}
	for (i = 0; i < d->nsets && !set; i++)
		if (!strcmp(d->sets[i]->id, req->params[1]))
			set = d->sets[i];
	if (!dev || !set) {
		sim_res_error(res, req, 404, "%s",
			      dev ? "authorization set not found" : "device not found");
		return;
	}
	if (strcmp(set->device_id, dev->id)) {
		sim_res_error(res, req, 400, "dev auth: dev ID and auth ID mismatch");
		return;
	}
	for (i = 0; i < d->nsets && !strcmp(st, "accepted"); i++)
		if (d->sets[i] != set && !strcmp(d->sets[i]->device_id, dev->id) &&
		    !strcmp(d->sets[i]->status, "accepted"))
			d->sets[i]->status = "rejected";
	set->status = st;
	if (strcmp(st, "accepted"))
		drop_tokens(d, dev->id);
	set_identity_status(dev, st, sim_now_us());
	sim_res_empty(res, 204);
}

/* DELETE /_sim/device-tokens[?device_id=ID]: the tokens are gone, as when
 * they expire; each client authenticates again. */
void sim_control_device_tokens_drop(struct sim *sim, const struct sim_request *req,
				    struct sim_response *res)
{
	drop_tokens(sim->devices, sim_req_arg(req, "device_id"));
	sim_res_empty(res, 204);
}
