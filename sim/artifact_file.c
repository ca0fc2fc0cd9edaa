/*
 * Reading a .mender file with libarchive: the layout mender-artifact's
 * areader expects (format 3: version, manifest, [manifest.sig,
 * manifest-augment,] header.tar*, [header-augment.tar*,] data/NNNN.tar*;
 * format 2: version, manifest, [manifest.sig,] header.tar*, data/NNNN.tar*),
 * each member's checksum as the manifest lists it.
 */
#include "artifact_file.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Members read into memory are small; payload files are only hashed. */
#define MEMBER_MAX ((size_t)1 << 20)
#define PAYLOADS_MAX 1000

struct manifest_line {
	char *name;
	char sum[65];
	bool seen;
};

struct parse {
	struct sim_artifact_meta *m;
	struct sim_buf *err;
	struct manifest_line *lines;
	size_t nlines, alines;
	cJSON *header_info;
	char version_sum[65]; /* checked once the manifest is read */
};

static int fail(struct parse *p, const char *fmt, const char *arg)
{
	if (!p->err->len)
		sim_buf_printf(p->err, fmt, arg);
	return -1;
}

/* Read the current member whole (at most `max` bytes) into `out`, and its
 * SHA-256 in hex into `hex`. `keep` false: hash only. */
static int read_member(struct archive *a, struct sim_buf *out, bool keep, size_t max,
		       char hex[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[16384], md[32];
	size_t total = 0;
	la_ssize_t n;
	unsigned int i, mdlen = 0;
	int ret = -1;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto done;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		total += (size_t)n;
		if (total > max)
			goto done;
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		if (keep)
			sim_buf_put(out, buf, (size_t)n);
	}
	if (n < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
		goto done;
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (keep && !out->ptr)
		sim_buf_puts(out, "");
	ret = 0;
done:
	EVP_MD_CTX_free(ctx);
	return ret;
}

/* The manifest's "<sha256>  <name>" lines. */
static int read_manifest(struct parse *p, const struct sim_buf *text)
{
	const char *s = text->ptr, *end = text->ptr + text->len;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);
		struct manifest_line *l;
		size_t i;

		if (n) {
			if (n < 67 || s[64] != ' ' || s[65] != ' ')
				return fail(p, "%s", "reader: invalid manifest line");
			for (i = 0; i < 64; i++)
				if (!strchr("0123456789abcdef", s[i]) || !s[i])
					return fail(p, "%s", "reader: invalid manifest line");
			sim_grow((void **)&p->lines, &p->alines, p->nlines + 1, sizeof(*p->lines));
			l = &p->lines[p->nlines++];
			memcpy(l->sum, s, 64);
			l->sum[64] = '\0';
			l->name = sim_xstrndup(s + 66, n - 66);
			l->seen = false;
		}
		s += n + 1;
	}
	return 0;
}

/* The member's checksum against the manifest's. */
static int check_sum(struct parse *p, const char *name, const char *hex)
{
	size_t i;

	for (i = 0; i < p->nlines; i++) {
		if (strcmp(p->lines[i].name, name))
			continue;
		if (strcmp(p->lines[i].sum, hex))
			return fail(p, "invalid checksum: '%s' does not match the manifest", name);
		p->lines[i].seen = true;
		return 0;
	}
	return fail(p, "reader: '%s' is not in the manifest", name);
}

static int read_version(struct parse *p, const struct sim_buf *text)
{
	const char *e;
	cJSON *v = sim_json_parse(text->ptr, text->len, &e);
	const cJSON *ver = sim_json_get(v, "version");
	const char *format = sim_json_get_string(v, "format");
	int ret = 0;

	if (!v || !format || strcmp(format, "mender") || !sim_json_is_int(ver, 0, 1e9))
		ret = fail(p, "%s", "reader: invalid version file");
	else if (ver->valueint != 2 && ver->valueint != 3)
		ret = fail(p, "%s", "unsupported version; supported versions are: 2, 3");
	else
		p->m->version = ver->valueint;
	cJSON_Delete(v);
	return ret;
}

static char **string_array(const cJSON *a, size_t *n)
{
	const cJSON *c;
	char **out;

	*n = 0;
	if (cJSON_IsString(a)) {
		out = sim_xcalloc(1, sizeof(*out));
		out[(*n)++] = sim_xstrdup(a->valuestring);
		return out;
	}
	out = sim_xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(*out));
	cJSON_ArrayForEach(c, a) {
		if (!cJSON_IsString(c) || !*c->valuestring) {
			while (*n)
				free(out[--*n]);
			free(out);
			return NULL;
		}
		out[(*n)++] = sim_xstrdup(c->valuestring);
	}
	return out;
}

/* Merge the string members of `from` into `into` (later wins). */
static void merge_strings(cJSON *into, const cJSON *from)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, from)
		if (cJSON_IsString(c)) {
			cJSON_DeleteItemFromObjectCaseSensitive(into, c->string);
			cJSON_AddStringToObject(into, c->string, c->valuestring);
		}
}

/* header-info: the name, the device types, the payloads' types. */
static int read_header_info(struct parse *p, const struct sim_buf *text)
{
	struct sim_artifact_meta *m = p->m;
	const char *e, *name;
	const cJSON *types, *payloads, *c;
	cJSON *h = sim_json_parse(text->ptr, text->len, &e);

	if (!h || !cJSON_IsObject(h)) {
		cJSON_Delete(h);
		return fail(p, "%s", "readHeaderInfo: invalid header-info");
	}
	p->header_info = h;
	if (m->version == 3) {
		const cJSON *prov = sim_json_get(h, "artifact_provides");
		const cJSON *dep = sim_json_get(h, "artifact_depends");

		name = sim_json_get_string(prov, "artifact_name");
		types = sim_json_get(dep, "device_type");
		payloads = sim_json_get(h, "payloads");
		merge_strings(m->provides, prov);
		cJSON_ArrayForEach(c, dep)
			if (strcmp(c->string, "device_type"))
				cJSON_AddItemToObject(m->depends, c->string, cJSON_Duplicate(c, true));
	} else {
		name = sim_json_get_string(h, "artifact_name");
		types = sim_json_get(h, "device_types_compatible");
		payloads = sim_json_get(h, "updates");
		if (name)
			cJSON_AddStringToObject(m->provides, "artifact_name", name);
	}
	if (!name || !*name)
		return fail(p, "%s", "readHeaderInfo: artifact name is empty");
	m->name = sim_xstrdup(name);
	m->device_types = string_array(types, &m->ndevice_types);
	if (!m->device_types || !m->ndevice_types)
		return fail(p, "%s", "readHeaderInfo: no compatible device types");
	if (payloads && !cJSON_IsArray(payloads))
		return fail(p, "%s", "readHeaderInfo: invalid payloads");
	c = payloads ? payloads->child : NULL;
	m->payload_type = sim_xstrdup(sim_json_get_string(c, "type") ? sim_json_get_string(c, "type")
								     : "");
	m->npayloads = (size_t)cJSON_GetArraySize(payloads);
	if (m->npayloads > PAYLOADS_MAX)
		return fail(p, "%s", "readHeaderInfo: too many payloads");
	return 0;
}

static int read_type_info(struct parse *p, const struct sim_buf *text)
{
	const char *e;
	cJSON *t = sim_json_parse(text->ptr, text->len, &e);
	int ret = 0;

	if (!t || !cJSON_IsObject(t))
		ret = fail(p, "%s", "readHeader: invalid type-info");
	else
		merge_strings(p->m->provides, sim_json_get(t, "artifact_provides"));
	/* the artifact's name is header-info's, whatever a payload says */
	cJSON_DeleteItemFromObjectCaseSensitive(p->m->provides, "artifact_name");
	cJSON_AddStringToObject(p->m->provides, "artifact_name", p->m->name);
	cJSON_Delete(t);
	return ret;
}

/* A compressed tar in memory, opened with every filter libarchive has. */
static struct archive *open_inner(const struct sim_buf *b)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, b->ptr ? b->ptr : "", b->len) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* header.tar*: header-info first, then headers/NNNN/{type-info,meta-data}. */
static int read_header(struct parse *p, const struct sim_buf *tarball)
{
	struct archive *a = open_inner(tarball);
	struct archive_entry *e;
	bool have_info = false;
	int r, ret = -1;

	if (!a)
		return fail(p, "%s", "readHeader: cannot read header");
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		struct sim_buf text = SIM_BUF_INIT;
		char hex[65];
		bool type_info = name && !strncmp(name, "headers/", 8) && strstr(name, "/type-info");

		if (!name || (strcmp(name, "header-info") && !type_info)) {
			archive_read_data_skip(a);
			continue;
		}
		if (read_member(a, &text, true, MEMBER_MAX, hex)) {
			sim_buf_release(&text);
			fail(p, "readHeader: cannot read '%s'", name);
			goto done;
		}
		if (!type_info && !have_info)
			r = read_header_info(p, &text);
		else if (type_info && have_info)
			r = read_type_info(p, &text);
		else
			r = fail(p, "readHeader: '%s' out of order", name);
		have_info = true;
		sim_buf_release(&text);
		if (r)
			goto done;
	}
	if (r != ARCHIVE_EOF)
		fail(p, "readHeader: %s", archive_error_string(a) ? archive_error_string(a) : "bad tar");
	else if (!have_info)
		fail(p, "%s", "readHeader: no header-info");
	else
		ret = 0;
done:
	archive_read_free(a);
	return ret;
}

/* data/NNNN.tar*: each file's checksum against "data/NNNN/<file>". */
static int read_payload(struct parse *p, const char *member, const struct sim_buf *tarball)
{
	struct archive *a = open_inner(tarball);
	struct archive_entry *e;
	size_t n = strcspn(member + 5, ".");
	int r, ret = -1;

	if (!a)
		return fail(p, "reader: cannot read '%s'", member);
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		struct sim_buf path = SIM_BUF_INIT;
		char hex[65];

		sim_buf_printf(&path, "data/%.*s/%s", (int)n, member + 5,
			       archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
		if (read_member(a, NULL, false, SIM_ARTIFACT_MAX, hex))
			r = fail(p, "reader: cannot read '%s'", path.ptr);
		else
			r = check_sum(p, path.ptr, hex);
		sim_buf_release(&path);
		if (r)
			goto done;
	}
	if (r != ARCHIVE_EOF)
		fail(p, "reader: '%s': bad tar", member);
	else
		ret = 0;
done:
	archive_read_free(a);
	return ret;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* One member of the outer tar, in the order areader requires. */
static int read_outer_member(struct parse *p, struct archive *a, const char *name, int *step)
{
	struct sim_buf b = SIM_BUF_INIT;
	bool header = has_prefix(name, "header.tar"), data = has_prefix(name, "data/");
	char hex[65];
	int ret;

	if (read_member(a, &b, true, data ? SIM_ARTIFACT_MAX : MEMBER_MAX, hex)) {
		sim_buf_release(&b);
		return fail(p, "reader: cannot read '%s'", name);
	}
	if (*step == 0) {
		memcpy(p->version_sum, hex, sizeof(hex));
		ret = strcmp(name, "version")
			      ? fail(p, "%s", "reader: the first member must be 'version'")
			      : read_version(p, &b);
	} else if (*step == 1 && strcmp(name, "manifest"))
		ret = fail(p, "%s", "reader: 'manifest' must follow 'version'");
	else if (*step == 1)
		ret = read_manifest(p, &b) || check_sum(p, "version", p->version_sum) ? -1 : 0;
	else if (!strcmp(name, "manifest.sig") || !strcmp(name, "manifest-augment") ||
		 has_prefix(name, "header-augment.tar"))
		ret = 0; /* signatures and augments: not verified by the stand-in */
	else if (header && *step == 2)
		ret = read_header(p, &b);
	else if (data && *step >= 3)
		ret = read_payload(p, name, &b);
	else
		ret = fail(p, "reader: unexpected member '%s'", name);
	if (!ret && header)
		ret = check_sum(p, name, hex);
	if (*step < 2 || header)
		(*step)++;
	sim_buf_release(&b);
	return ret;
}

static int parse_outer(struct parse *p, const void *buf, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	int step = 0, r, ret = -1;

	if (!a)
		return fail(p, "%s", "reader: out of memory");
	/* The outer tar is never compressed. */
	archive_read_support_format_tar(a);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
		fail(p, "reader: %s", archive_error_string(a) ? archive_error_string(a) : "not a tar");
		goto done;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);

		if (!name || archive_entry_filetype(e) != AE_IFREG) {
			fail(p, "reader: unexpected member '%s'", name ? name : "");
			goto done;
		}
		if (read_outer_member(p, a, name, &step))
			goto done;
	}
	if (r != ARCHIVE_EOF)
		fail(p, "reader: %s", archive_error_string(a) ? archive_error_string(a) : "bad tar");
	else if (step < 3)
		fail(p, "%s", "reader: no header in the artifact");
	else
		ret = 0;
done:
	archive_read_free(a);
	return ret;
}

int sim_artifact_parse(const void *buf, size_t len, struct sim_artifact_meta *out,
		       struct sim_buf *err)
{
	struct parse p = { .m = out, .err = err };
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	out->provides = cJSON_CreateObject();
	out->depends = cJSON_CreateObject();
	if (len > SIM_ARTIFACT_MAX)
		ret = fail(&p, "%s", "Artifact file too large");
	else
		ret = len ? parse_outer(&p, buf, len) : fail(&p, "%s", "reader: empty artifact");
	for (i = 0; i < p.nlines && !ret; i++)
		if (!p.lines[i].seen)
			ret = fail(&p, "reader: '%s' is in the manifest but not in the artifact",
				   p.lines[i].name);
	for (i = 0; i < p.nlines; i++)
		free(p.lines[i].name);
	free(p.lines);
	cJSON_Delete(p.header_info);
	if (ret)
		sim_artifact_meta_release(out);
	return ret;
}

void sim_artifact_meta_release(struct sim_artifact_meta *m)
{
	size_t i;

	free(m->name);
	for (i = 0; i < m->ndevice_types; i++)
		free(m->device_types[i]);
	free(m->device_types);
	free(m->payload_type);
	cJSON_Delete(m->provides);
	cJSON_Delete(m->depends);
	memset(m, 0, sizeof(*m));
}

/* A tar member from memory. */
static int put_member(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();
	int ok;

	if (!e)
		return -1;
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0600);
	archive_entry_set_size(e, (la_int64_t)len);
	ok = archive_write_header(a, e) == ARCHIVE_OK &&
	     (!len || archive_write_data(a, data, len) == (la_ssize_t)len);
	archive_entry_free(e);
	return ok ? 0 : -1;
}

static la_ssize_t to_buf(struct archive *a, void *arg, const void *data, size_t len)
{
	(void)a;
	sim_buf_put(arg, data, len);
	return (la_ssize_t)len;
}

/* An uncompressed ustar of `n` members (name, text) into `out`. */
static int write_tar(const char *const *names, const char *const *texts, size_t n,
		     struct sim_buf *out)
{
	struct archive *a = archive_write_new();
	size_t i;
	int ret = -1;

	if (!a)
		return -1;
	if (archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, out, NULL, to_buf, NULL, NULL) != ARCHIVE_OK)
		goto done;
	for (i = 0; i < n; i++)
		if (put_member(a, names[i], texts[i], strlen(texts[i])))
			goto done;
	ret = archive_write_close(a) == ARCHIVE_OK ? 0 : -1;
done:
	archive_write_free(a);
	return ret;
}

static void sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int i, n = 0;

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

int sim_artifact_write_configure(const char *name, const char *device_type,
				 const char *config_json, struct sim_buf *out, struct sim_buf *err)
{
	static const char version[] = "{\"format\":\"mender\",\"version\":3}";
	static const char *const header_names[] = { "header-info", "headers/0000/type-info",
						    "headers/0000/meta-data" };
	const char *header_texts[3];
	/* the payload without files: an empty tar, its two zero blocks */
	static const char empty_tar[1024];
	struct sim_buf header = SIM_BUF_INIT, manifest = SIM_BUF_INIT;
	cJSON *info = cJSON_CreateObject(), *type = cJSON_CreateObject(), *o;
	char *info_text, *type_text, hv[65], hh[65];
	struct archive *a = NULL;
	int ret = -1;

	o = cJSON_AddArrayToObject(info, "payloads");
	cJSON_AddItemToArray(o, cJSON_CreateObject());
	cJSON_AddStringToObject(o->child, "type", "mender-configure");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(info, "artifact_provides"), "artifact_name",
				name);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(info, "artifact_depends"),
						    "device_type"),
			     cJSON_CreateString(device_type));
	cJSON_AddStringToObject(type, "type", "mender-configure");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(type, "artifact_provides"),
				"data-partition.mender-configure.version", name);
	cJSON_AddObjectToObject(type, "artifact_depends");
	cJSON_AddItemToArray(cJSON_AddArrayToObject(type, "clears_artifact_provides"),
			     cJSON_CreateString("data-partition.mender-configure.*"));
	info_text = sim_json_print(info);
	type_text = sim_json_print(type);
	header_texts[0] = info_text;
	header_texts[1] = type_text;
	header_texts[2] = config_json;
	if (write_tar(header_names, header_texts, 3, &header))
		goto done;
	sha256_hex(version, sizeof(version) - 1, hv);
	sha256_hex(header.ptr, header.len, hh);
	sim_buf_printf(&manifest, "%s  header.tar\n%s  version\n", hh, hv);
	a = archive_write_new();
	if (!a || archive_write_set_format_ustar(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
	    archive_write_open2(a, out, NULL, to_buf, NULL, NULL) != ARCHIVE_OK ||
	    put_member(a, "version", version, sizeof(version) - 1) ||
	    put_member(a, "manifest", manifest.ptr, manifest.len) ||
	    put_member(a, "header.tar", header.ptr, header.len) ||
	    put_member(a, "data/0000.tar", empty_tar, sizeof(empty_tar)) ||
	    archive_write_close(a) != ARCHIVE_OK)
		goto done;
	ret = 0;
done:
	if (ret)
		sim_buf_printf(err, "cannot write the configuration artifact: %s",
			       a && archive_error_string(a) ? archive_error_string(a) : "tar error");
	archive_write_free(a);
	cJSON_Delete(info);
	cJSON_Delete(type);
	free(info_text);
	free(type_text);
	sim_buf_release(&header);
	sim_buf_release(&manifest);
	return ret;
}
