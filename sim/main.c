/*
 * mender-sim: a stand-in for the Mender server's management API, for tests
 * and demos (docs/mender-sim.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "devices.h"
#include "http.h"
#include "useradm.h"

#define SEED_MAX ((size_t)256 << 20)

struct options {
	const char *listen;
	const char *seed;
	const char *token;
	const char *user;
	const char *password;
	const char *port_file;
	const char *version;
	const char *configure;
	const char *admission;
};

static void usage(FILE *f)
{
	fputs("usage: mender-sim --listen 127.0.0.1:PORT --seed FILE.json [--token TOKEN]\n"
	      "                  [--user NAME --password SECRET] [--port-file FILE]\n"
	      "                  [--mender-version 3.7|4.0|4.1] [--configure on|off]\n"
	      "                  [--admission auto|manual]\n"
	      "\n"
	      "Serves the part of Mender's management API that fleetgate uses, on a\n"
	      "loopback address, as that Mender version does (default 4.1); --configure\n"
	      "off answers deviceconfig as a server without the Mender Configure add-on.\n"
	      "PORT 0 picks a free port; the first line on stdout is\n"
	      "\"listening on ADDRESS:PORT\". SIGTERM or SIGINT stops it.\n"
	      "Real Mender clients authenticate through the device API; --admission\n"
	      "manual keeps a new device pending until it is accepted (default auto).\n"
	      "See docs/mender-sim.md.\n",
	      f);
}

/* "--name VALUE" or "--name=VALUE"; advances *i past what it used. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const char *const names[] = { "--listen",    "--seed",	      "--token",
					     "--user",	    "--password",     "--port-file",
					     "--mender-version", "--configure", "--admission" };
	const char **slots[] = { &o->listen,	&o->seed,     &o->token,   &o->user,
				 &o->password,	&o->port_file, &o->version, &o->configure,
				 &o->admission };
	int i;
	size_t k;

	for (i = 1; i < argc; i++) {
		const char *v = NULL;

		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			exit(0);
		}
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			int j = i;

			v = option_value(argc, argv, &j, names[k]);
			if (v) {
				*slots[k] = v;
				i = j;
				break;
			}
		}
		if (!v) {
			fprintf(stderr, "mender-sim: unknown or incomplete option '%s'\n", argv[i]);
			return -1;
		}
	}
	if (!o->listen || !o->seed) {
		fprintf(stderr, "mender-sim: --listen and --seed are required\n");
		return -1;
	}
	if (!o->user != !o->password) {
		fprintf(stderr, "mender-sim: --user and --password go together\n");
		return -1;
	}
	if (o->admission && strcmp(o->admission, "auto") && strcmp(o->admission, "manual")) {
		fprintf(stderr, "mender-sim: --admission must be 'auto' or 'manual'\n");
		return -1;
	}
	if ((o->token && !*o->token) || (o->user && !*o->user)) {
		fprintf(stderr, "mender-sim: --token and --user must not be empty\n");
		return -1;
	}
	if (o->version && sim_version_parse(o->version) < 0) {
		fprintf(stderr, "mender-sim: --mender-version '%s': expected 3.7, 4.0 or 4.1\n",
			o->version);
		return -1;
	}
	if (o->configure && strcmp(o->configure, "on") && strcmp(o->configure, "off")) {
		fprintf(stderr, "mender-sim: --configure '%s': expected on or off\n", o->configure);
		return -1;
	}
	return 0;
}

/* HOST:PORT with HOST a loopback address (127.0.0.0/8, [::1], localhost). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
		goto bad;
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (host[0] == '[') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
		size_t n = strlen(host);

		if (n < 3 || host[n - 1] != ']')
			goto bad;
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
			goto bad;
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			goto not_loopback;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			goto bad;
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			goto not_loopback;
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
	}
	return 0;
bad:
	fprintf(stderr, "mender-sim: --listen '%s': expected HOST:PORT, e.g. 127.0.0.1:8080\n", s);
	return -1;
not_loopback:
	fprintf(stderr,
		"mender-sim: --listen '%s': refusing a non-loopback address (use 127.0.0.1 or [::1])\n",
		s);
	return -1;
}

static cJSON *read_seed(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct sim_buf b = SIM_BUF_INIT;
	char chunk[65536];
	const char *err;
	cJSON *doc = NULL;
	size_t n;

	if (!f) {
		fprintf(stderr, "mender-sim: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > SEED_MAX) {
			fprintf(stderr, "mender-sim: %s: larger than %zu MiB\n", path, SEED_MAX >> 20);
			goto done;
		}
		sim_buf_put(&b, chunk, n);
	}
	if (ferror(f)) {
		fprintf(stderr, "mender-sim: %s: read error\n", path);
		goto done;
	}
	doc = sim_json_parse(b.ptr ? b.ptr : "", b.len, &err);
	if (!doc)
		fprintf(stderr, "mender-sim: %s: %s\n", path, err);
done:
	fclose(f);
	sim_buf_release(&b);
	return doc;
}

static int write_port_file(const char *path, uint16_t port)
{
	struct sim_buf tmp = SIM_BUF_INIT;
	FILE *f;
	int wrote, ret = -1;

	sim_buf_printf(&tmp, "%s.tmp", path);
	f = fopen(tmp.ptr, "w");
	if (!f) {
		fprintf(stderr, "mender-sim: %s: %s\n", tmp.ptr, strerror(errno));
		goto done;
	}
	/* closed whether or not the write worked */
	wrote = fprintf(f, "%u\n", port) >= 0;
	if (fclose(f) || !wrote) {
		fprintf(stderr, "mender-sim: %s: %s\n", tmp.ptr, strerror(errno));
		goto done;
	}
	if (rename(tmp.ptr, path)) {
		fprintf(stderr, "mender-sim: %s: %s\n", path, strerror(errno));
		goto done;
	}
	ret = 0;
done:
	sim_buf_release(&tmp);
	return ret;
}

int main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct sim sim = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct sim_http *http = NULL;
	struct sim_buf err = SIM_BUF_INIT;
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	cJSON *seed = NULL;
	uint16_t port = 0;
	sigset_t sigs;
	int sig, ret = 2;

	sim_json_init();
	signal(SIGPIPE, SIG_IGN);
	if (parse_options(argc, argv, &opt)) {
		usage(stderr);
		goto done;
	}
	if (parse_listen(opt.listen, &ss, &sslen))
		goto done;
	ret = 1;
	seed = read_seed(opt.seed);
	if (!seed)
		goto done;
	sim.store = sim_store_new();
	if (opt.version)
		sim.store->version = (enum sim_version)sim_version_parse(opt.version);
	sim.settings.no_configure = opt.configure && !strcmp(opt.configure, "off");
	if (sim_store_seed(sim.store, seed, false, &err)) {
		fprintf(stderr, "mender-sim: %s: %s\n", opt.seed, err.ptr);
		goto done;
	}
	cJSON_Delete(seed);
	seed = NULL;
	sim.auth = sim_auth_new(opt.token, opt.user, opt.password);
	sim.control = sim_control_new();
	sim.devices = sim_devices_new(opt.admission && !strcmp(opt.admission, "manual"));

	/* Threads inherit this mask, so only sigwait below sees the signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	http = sim_http_start(&sim, (struct sockaddr *)&ss, sslen, &port, &err);
	if (!http) {
		fprintf(stderr, "mender-sim: %s: %s\n", opt.listen, err.ptr);
		goto done;
	}
	if (opt.port_file && write_port_file(opt.port_file, port))
		goto done;
	if (ss.ss_family == AF_INET6) {
		printf("listening on [::1]:%u\n", port);
	} else {
		char host[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
		printf("listening on %s:%u\n", host, port);
	}
	fflush(stdout);
	while (sigwait(&sigs, &sig) == 0 && sig != SIGTERM && sig != SIGINT)
		;
	ret = 0;
done:
	sim_http_stop(http);
	cJSON_Delete(seed);
	sim_control_free(sim.control);
	sim_devices_free(sim.devices);
	sim_auth_free(sim.auth);
	sim_store_free(sim.store);
	sim_buf_release(&err);
	pthread_mutex_destroy(&sim.lock);
	return ret;
}
