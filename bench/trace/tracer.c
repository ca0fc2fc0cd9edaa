/*
 * bench/trace: an LD_PRELOAD library for a fleetgate built with
 * -finstrument-functions. gcc calls __cyg_profile_func_enter(fn, site) on
 * every entry of an instrumented function (glibc's own are empty); this
 * one counts each (caller site, callee) pair, as offsets in the program,
 * and at exit writes them to $FG_TRACE_DIR/<pid>.trace after the command
 * line. bench/trace/run turns the offsets into files and functions.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOTS (1u << 16)
#define NOTRACE __attribute__((no_instrument_function))

static struct slot {
	uintptr_t fn, site;
	unsigned long count;
} slots[SLOTS];
static uintptr_t base;
static int full;

void __cyg_profile_func_enter(void *fn, void *site) NOTRACE;
void __cyg_profile_func_exit(void *fn, void *site) NOTRACE;

void __cyg_profile_func_enter(void *fn, void *site)
{
	uintptr_t f = (uintptr_t)fn, s = (uintptr_t)site;
	size_t i = (f * 31 + s) % SLOTS, k;

	if (!base) {
		Dl_info info;

		if (!dladdr(fn, &info))
			return;
		base = (uintptr_t)info.dli_fbase;
	}
	for (k = 0; k < SLOTS; k++, i = (i + 1) % SLOTS) {
		if (slots[i].fn == f && slots[i].site == s) {
			slots[i].count++;
			return;
		}
		if (!slots[i].fn) {
			slots[i].fn = f;
			slots[i].site = s;
			slots[i].count = 1;
			return;
		}
	}
	full = 1;
}

void __cyg_profile_func_exit(void *fn, void *site)
{
	(void)fn;
	(void)site;
}

static void NOTRACE dump(void) __attribute__((destructor));

static void dump(void)
{
	const char *dir = getenv("FG_TRACE_DIR");
	char path[4096], cmd[4096];
	size_t i, n;
	FILE *f, *in;

	if (!base || !dir)
		return;
	snprintf(path, sizeof(path), "%s/%ld.trace", dir, (long)getpid());
	f = fopen(path, "w");
	if (!f)
		return;
	in = fopen("/proc/self/cmdline", "r");
	n = in ? fread(cmd, 1, sizeof(cmd) - 1, in) : 0;
	if (in)
		fclose(in);
	for (i = 0; i + 1 < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	cmd[n] = '\0';
	fprintf(f, "# %s%s\n", cmd, full ? " (table full: counts incomplete)" : "");
	for (i = 0; i < SLOTS; i++)
		if (slots[i].fn)
			fprintf(f, "%lx %lx %lu\n", (unsigned long)(slots[i].site - base),
				(unsigned long)(slots[i].fn - base), slots[i].count);
	fclose(f);
}
