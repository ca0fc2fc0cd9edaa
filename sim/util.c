#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

static void oom(size_t n)
{
	fprintf(stderr, "mender-sim: out of memory (%zu bytes)\n", n);
	abort();
}

void *sim_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom(n);
	return p;
}

void *sim_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		oom(nmemb * size);
	return p;
}

void *sim_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		oom(n);
	return q;
}

char *sim_xstrdup(const char *s)
{
	return sim_xstrndup(s, strlen(s));
}

char *sim_xstrndup(const char *s, size_t n)
{
	char *p = sim_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void sim_grow(void **v, size_t *alloc, size_t need, size_t size)
{
	size_t n = *alloc;

	if (need <= n)
		return;
	if (n < 8)
		n = 8;
	while (n < need) {
		if (n > SIZE_MAX / 2 / size)
			oom(SIZE_MAX);
		n *= 2;
	}
	*v = sim_xrealloc(*v, n * size);
	*alloc = n;
}

void sim_buf_put(struct sim_buf *b, const void *data, size_t len)
{
	sim_grow((void **)&b->ptr, &b->alloc, b->len + len + 1, 1);
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
}

void sim_buf_puts(struct sim_buf *b, const char *s)
{
	sim_buf_put(b, s, strlen(s));
}

void sim_buf_printf(struct sim_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	sim_grow((void **)&b->ptr, &b->alloc, b->len + (size_t)n + 1, 1);
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sim_buf_put_urlenc(struct sim_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			sim_buf_put(b, s, 1);
		} else if (c == ' ') {
			sim_buf_put(b, "+", 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			sim_buf_put(b, e, 3);
		}
	}
}

void sim_buf_put_pathenc(struct sim_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || strchr("-_.~/:@!$&'()*+,;=", c)) {
			sim_buf_put(b, s, 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };

			sim_buf_put(b, e, 3);
		}
	}
}

char *sim_buf_detach(struct sim_buf *b)
{
	char *p = b->ptr ? b->ptr : sim_xstrdup("");

	b->ptr = NULL;
	b->len = b->alloc = 0;
	return p;
}

void sim_buf_release(struct sim_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->alloc = 0;
}

/* Open addressing with linear probing; deleted slots become tombstones. */
struct map_slot {
	char *key; /* NULL: empty; TOMBSTONE: deleted */
	void *value;
	uint64_t hash;
};

struct sim_map {
	struct map_slot *slots;
	size_t cap; /* power of two */
	size_t count;
	size_t used; /* count + tombstones */
};

static char tombstone_key;
#define TOMBSTONE (&tombstone_key)

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct sim_map *sim_map_new(void)
{
	struct sim_map *m = sim_xcalloc(1, sizeof(*m));

	m->cap = 16;
	m->slots = sim_xcalloc(m->cap, sizeof(*m->slots));
	return m;
}

void sim_map_free(struct sim_map *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
			free(m->slots[i].key);
	free(m->slots);
	free(m);
}

static struct map_slot *map_find(const struct sim_map *m, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	for (;;) {
		struct map_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != TOMBSTONE && s->hash == h && !strcmp(s->key, key))
			return s;
		i = (i + 1) & (m->cap - 1);
	}
}

static void map_rehash(struct sim_map *m, size_t cap)
{
	struct map_slot *old = m->slots;
	size_t oldcap = m->cap, i;

	m->slots = sim_xcalloc(cap, sizeof(*m->slots));
	m->cap = cap;
	m->used = m->count;
	for (i = 0; i < oldcap; i++) {
		size_t j;

		if (!old[i].key || old[i].key == TOMBSTONE)
			continue;
		j = (size_t)old[i].hash & (cap - 1);
		while (m->slots[j].key)
			j = (j + 1) & (cap - 1);
		m->slots[j] = old[i];
	}
	free(old);
}

void *sim_map_get(const struct sim_map *m, const char *key)
{
	struct map_slot *s = map_find(m, key, hash_str(key));

	return s ? s->value : NULL;
}

/* gcc -fanalyzer: the key's copy is owned by its slot (sim_map_del and
 * sim_map_free free it); the analyzer loses it through the slot index */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wanalyzer-malloc-leak"
#endif
void *sim_map_put(struct sim_map *m, const char *key, void *value)
{
	uint64_t h = hash_str(key);
	struct map_slot *s = map_find(m, key, h);
	size_t i;

	if (s) {
		void *prev = s->value;

		s->value = value;
		return prev;
	}
	if ((m->used + 1) * 4 >= m->cap * 3)
		map_rehash(m, m->count * 2 + 2 > m->cap / 2 ? m->cap * 2 : m->cap);
	i = (size_t)h & (m->cap - 1);
	while (m->slots[i].key && m->slots[i].key != TOMBSTONE)
		i = (i + 1) & (m->cap - 1);
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = sim_xstrdup(key);
	m->slots[i].value = value;
	m->slots[i].hash = h;
	m->count++;
	return NULL;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

void *sim_map_del(struct sim_map *m, const char *key)
{
	struct map_slot *s = map_find(m, key, hash_str(key));
	void *prev;

	if (!s)
		return NULL;
	prev = s->value;
	free(s->key);
	s->key = TOMBSTONE;
	s->value = NULL;
	m->count--;
	return prev;
}

size_t sim_map_count(const struct sim_map *m)
{
	return m->count;
}

void sim_map_each(const struct sim_map *m, void (*fn)(const char *key, void *value, void *arg),
		  void *arg)
{
	size_t i;

	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
			fn(m->slots[i].key, m->slots[i].value, arg);
}

void sim_random(void *buf, size_t len)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "mender-sim: getrandom: %s\n", strerror(errno));
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
}

void sim_uuid4(char out[37])
{
	unsigned char r[16];

	sim_random(r, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
		 r[11], r[12], r[13], r[14], r[15]);
}

void sim_hexid(char out[25])
{
	unsigned char r[12];
	size_t i;

	sim_random(r, sizeof(r));
	for (i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

bool sim_is_uuid(const char *s)
{
	static const int groups[] = { 8, 4, 4, 4, 12 };
	size_t g;
	int i;

	for (g = 0; g < 5; g++) {
		for (i = 0; i < groups[g]; i++, s++)
			if (!isxdigit((unsigned char)*s))
				return false;
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

int64_t sim_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sim_format_time(int64_t us, char out[32])
{
	time_t sec = (time_t)(us / 1000000);
	unsigned micro = (unsigned)((us % 1000000 + 1000000) % 1000000);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06uZ", micro % 1000000u);
}

void sim_format_time_ms(int64_t us, char out[32])
{
	int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
	time_t sec = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	unsigned frac = (unsigned)(ms - (int64_t)sec * 1000);
	struct tm tm;
	size_t n;
	int digits = 3;

	gmtime_r(&sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	while (digits > 0 && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	if (digits)
		snprintf(out + n, 32 - n, ".%0*uZ", digits, frac);
	else
		snprintf(out + n, 32 - n, "Z");
}

bool sim_contains_ci(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (; *haystack; haystack++)
		if (!strncasecmp(haystack, needle, n))
			return true;
	return n == 0;
}

bool sim_parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

bool sim_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return d == 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

char *sim_base64_decode(const char *s, size_t *outlen)
{
	size_t len = strlen(s), i, o = 0, pad = 0;
	char *out;

	if (len % 4)
		return NULL;
	if (len && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	out = sim_xmalloc(len / 4 * 3 + 1);
	for (i = 0; i < len; i += 4) {
		int v[4], k;

		for (k = 0; k < 4; k++) {
			bool tail = i + 4 == len && k >= 4 - (int)pad;

			v[k] = tail ? 0 : b64val((unsigned char)s[i + k]);
			if (v[k] < 0) {
				free(out);
				return NULL;
			}
		}
		out[o++] = (char)(v[0] << 2 | v[1] >> 4);
		out[o++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
		out[o++] = (char)((v[2] & 3) << 6 | v[3]);
	}
	o -= pad;
	out[o] = '\0';
	if (outlen)
		*outlen = o;
	return out;
}

void sim_buf_put_base64url(struct sim_buf *b, const void *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		char e[4] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4 | p[i + 1] >> 4],
			      tab[(p[i + 1] & 15) << 2 | p[i + 2] >> 6], tab[p[i + 2] & 63] };

		sim_buf_put(b, e, 4);
	}
	if (len - i == 1) {
		char e[2] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4] };

		sim_buf_put(b, e, 2);
	} else if (len - i == 2) {
		char e[3] = { tab[p[i] >> 2], tab[(p[i] & 3) << 4 | p[i + 1] >> 4],
			      tab[(p[i + 1] & 15) << 2] };

		sim_buf_put(b, e, 3);
	}
}
