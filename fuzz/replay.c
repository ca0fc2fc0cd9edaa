/*
 * Replay saved fuzz inputs through a fuzz target without libFuzzer, so that
 * `make check` (gcc, no clang needed) keeps every input the fuzzer found
 * interesting, and every crash it found once, passing.
 *
 *   replay-fuzz_fleet FILE|DIR...
 *
 * Each input runs in its own child process: a crash, an abort (a broken
 * invariant) or a leak reported at exit (under `make asan`) fails that
 * input only, and the others still run. Prints cmocka's summary lines
 * ("[  PASSED  ] N test(s).", "[  FAILED  ] N test(s), listed below:"),
 * which tests/run-all counts; exits 1 when an input failed or none was
 * given.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	size_t passed;
	char **failed;
	size_t nfailed;
};

static int run_child(const char *path)
{
	struct fg_buf b = FG_BUF_INIT;
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		perror(path);
		return 1;
	}
	fg_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fg_buf_put(&b, chunk, n);
	if (ferror(f)) {
		perror(path);
		fclose(f);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput((const uint8_t *)(b.ptr ? b.ptr : ""), b.len);
	fg_buf_release(&b);
	return 0;
}

static void replay_file(struct tally *t, const char *path)
{
	pid_t pid;
	int status = 0;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0)
		exit(run_child(path)); /* exit, not _exit: the leak check runs at exit */
	if (waitpid(pid, &status, 0) < 0) {
		perror("waitpid");
		exit(2);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		t->passed++;
		return;
	}
	if (WIFSIGNALED(status))
		fprintf(stderr, "%s: killed by signal %d\n", path, WTERMSIG(status));
	else
		fprintf(stderr, "%s: exit status %d\n", path, WEXITSTATUS(status));
	t->failed = fg_realloc(t->failed, (t->nfailed + 1) * sizeof(*t->failed));
	t->failed[t->nfailed++] = fg_strdup(path);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of `dir`, in name order (hidden files left out). */
static void replay_dir(struct tally *t, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;

	if (!d) {
		perror(dir);
		exit(2);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = fg_realloc(names, (n + 1) * sizeof(*names));
		names[n++] = fg_asprintf("%s/%s", dir, e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++)
		replay_file(t, names[i]);
	fg_strings_free(names, n);
}

int main(int argc, char **argv)
{
	struct tally t = { 0 };
	struct stat st;
	size_t i;
	int a;

	for (a = 1; a < argc; a++) {
		if (stat(argv[a], &st) < 0) {
			perror(argv[a]);
			return 2;
		}
		if (S_ISDIR(st.st_mode))
			replay_dir(&t, argv[a]);
		else
			replay_file(&t, argv[a]);
	}
	printf("[==========] %zu input(s) replayed.\n", t.passed + t.nfailed);
	printf("[  PASSED  ] %zu test(s).\n", t.passed);
	if (t.nfailed) {
		printf("[  FAILED  ] %zu test(s), listed below:\n", t.nfailed);
		for (i = 0; i < t.nfailed; i++)
			printf("[  FAILED  ] %s\n", t.failed[i]);
	}
	fg_strings_free(t.failed, t.nfailed);
	return t.nfailed || !t.passed ? 1 : 0;
}
