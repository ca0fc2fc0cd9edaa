/*
 * fleetgate import edi-cd [--output DIR] [--force] [--include-orphans] [--check] DIR
 *
 * Turns an edi-cd fleet repository (Ansible inventory, group_vars,
 * host_vars, templates) into a fleetgate fleet with the same desired state,
 * or (--check) compares the two device by device. docs/migrate-from-edi-cd.md.
 */
#define _GNU_SOURCE /* nftw, syncfs */
#include "cli.h"
#include "front/front.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "fleet/fleet.h"
#include "import/edicd.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: fleetgate import edi-cd [--output DIR] [--force] [--include-orphans] DIR\n"
	"       fleetgate import edi-cd --check [--output DIR] [--include-orphans] DIR\n"
	"\n"
	"Write a fleetgate fleet (fleet.yaml, devices/<id>.yaml) whose desired state\n"
	"for every device is what edi-cd's playbook in DIR would apply: its inventory.yml,\n"
	"group_vars/all.yml, host_vars/<id>.yml and the templates of\n"
	"roles/apply_configuration, rendered per host. lookup('env', 'NAME') becomes\n"
	"${secret:NAME} (no secret is read); desired_os_image becomes ${os_image}.\n"
	"The fleet is validated before it is written; nothing is written when a\n"
	"template uses Jinja2 outside the supported subset, a host fails a\n"
	"mandatory value, or the fleet would not validate.\n"
	"\n"
	"  --output DIR       where fleet.yaml and devices/ go (default: DIR itself)\n"
	"  --force            replace an existing fleet.yaml and devices/ there\n"
	"  --include-orphans  also import host_vars of hosts missing from inventory.yml\n"
	"  --check            write nothing: compare, per device and device type, what\n"
	"                     the templates render with what the fleet in --output\n"
	"                     yields (subscription, OS image, configuration)\n"
	"\n"
	"Exit status: 0 imported (--check: all equal), 1 not imported (--check: a\n"
	"difference), 2 usage or environment error.\n";

struct import_args {
	const char *dir;
	const char *output;
	int force;
	int orphans;
	int check;
};

static int import_option(void *data, int c, const char *arg)
{
	struct import_args *a = data;

	switch (c) {
	case 'o':
		a->output = arg;
		break;
	case 'f':
		a->force = 1;
		break;
	case 'O':
		a->orphans = 1;
		break;
	case 'c':
		a->check = 1;
		break;
	}
	return 0;
}

static int parse_args(struct import_args *a, int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "include-orphans", no_argument, NULL, 'O' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *operands[2];
	struct front_args fa = { "import", usage_text, options, import_option, a, operands, 2, 0 };
	int rc;

	memset(a, 0, sizeof(*a));
	rc = front_parse(&fa, argc, argv);
	if (rc)
		return rc == FRONT_HELP ? -1 : rc;
	if (fa.noperands < 1)
		return front_usage_error(
			"import",
			"which kind of repository? 'fleetgate import edi-cd DIR' (see --help)");
	if (strcmp(operands[0], "edi-cd"))
		return front_usage_error("import", "unknown kind '%s': only edi-cd is supported",
					 operands[0]);
	if (fa.noperands < 2)
		return front_usage_error(
			"import", "the edi-cd repository is missing: 'fleetgate import edi-cd DIR'");
	a->dir = operands[1];
	if (a->check && a->force)
		return front_usage_error("import",
				       "--check writes nothing: --force makes no sense with it");
	if (!a->output)
		a->output = a->dir;
	return 0;
}

static void print_diags(const struct diags *d)
{
	struct fg_buf b = FG_BUF_INIT;

	fg_buf_init(&b);
	diags_format_text(d, &b);
	fputs(b.ptr, stderr);
	fg_buf_release(&b);
}

/* Hosts Ansible would fail: each named, with why. */
static void print_failed(const struct edicd_import *imp)
{
	struct fg_buf b = FG_BUF_INIT;
	size_t i;

	fg_buf_init(&b);
	for (i = 0; i < imp->ndevices; i++) {
		if (!imp->devices[i].error)
			continue;
		fg_buf_puts(&b, "fleetgate import: host ");
		fg_buf_put_printable(&b, imp->devices[i].id);
		fg_buf_puts(&b, ": ");
		fg_buf_put_printable(&b, imp->devices[i].error);
		fg_buf_putc(&b, '\n');
	}
	fputs(b.ptr, stderr);
	fg_buf_release(&b);
}

static void print_notes(const struct edicd_import *imp, struct fg_buf *b)
{
	size_t i;

	if (imp->nsecrets) {
		fg_buf_puts(b,
			    "secrets the server needs (fleetgate.secretsFile, or FLEETGATE_SECRET_<NAME>):");
		for (i = 0; i < imp->nsecrets; i++)
			fg_buf_printf(b, " %s", imp->secrets[i]);
		fg_buf_putc(b, '\n');
	}
	for (i = 0; i < imp->nnotes; i++) {
		fg_buf_puts(b, "note: ");
		fg_buf_put_printable(b, imp->notes[i]);
		fg_buf_putc(b, '\n');
	}
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* One file of the staging folder: it reaches its place with the folder,
 * so it need not be atomic on its own; syncfs() makes all of them durable
 * at once (an fsync a file costs 10,000 disk flushes for 10,000 devices). */
static int write_new(int dirfd, const char *path, const char *data, size_t len)
{
	int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		return fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
	while (done < len) {
		n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
		}
		done += (size_t)n;
	}
	if (close(fd))
		return fg_error_set(FG_EIO, "%s: %s", path, strerror(errno));
	return 0;
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || syncfs(fd))
		rc = fg_error_set(FG_EIO, "%s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Validate the fleet in `dir` as `fleetgate validate` would. */
static int validate_dir(const char *dir, struct fleet **fleet, struct diags *diags)
{
	struct source src = { 0 };
	int rc = source_open_dir(&src, dir);

	*fleet = NULL;
	if (!rc)
		rc = fleet_load(fleet, &src, NULL, diags);
	source_release(&src);
	return rc;
}

/* Validate the files as `fleetgate validate` would, before any is written. */
static int validate_files(const struct edicd_file *files, size_t n)
{
	struct source src;
	struct fleet *fleet = NULL;
	struct diags diags;
	int status = EXIT_OK;

	diags_init(&diags);
	edicd_files_source(&src, files, n);
	if (fleet_load(&fleet, &src, NULL, &diags)) {
		status = front_fail("import", EXIT_USAGE, "validating the imported fleet");
	} else if (diags.errors) {
		print_diags(&diags);
		fprintf(stderr,
			"fleetgate import: the imported fleet does not validate: nothing written\n");
		status = EXIT_REJECTED;
	}
	fleet_free(fleet);
	source_release(&src);
	diags_release(&diags);
	return status;
}

/* Write the files into a folder of their own inside `out`, then move
 * fleet.yaml and devices/ into place. */
static int write_fleet(const struct import_args *a, const struct edicd_file *files, size_t n)
{
	char *stage = fg_asprintf("%s/.fleetgate-import.XXXXXX", a->output), *path = NULL;
	char *dev = NULL, *old = NULL, *dst = NULL;
	size_t i;
	int status = EXIT_USAGE, stagefd = -1;

	if (mkdir(a->output, 0777) && errno != EEXIST) {
		fprintf(stderr, "fleetgate import: cannot create '%s': %s\n", a->output,
			strerror(errno));
		free(stage);
		return EXIT_USAGE;
	}
	if (!mkdtemp(stage)) {
		fprintf(stderr, "fleetgate import: cannot create a folder in '%s': %s\n", a->output,
			strerror(errno));
		free(stage);
		return EXIT_USAGE;
	}
	dev = fg_asprintf("%s/" FLEET_DEVICES_DIR, stage);
	if (mkdir(dev, 0777)) {
		fprintf(stderr, "fleetgate import: %s: %s\n", dev, strerror(errno));
		goto done;
	}
	stagefd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (i = 0; i < n; i++) {
		if (stagefd < 0 || write_new(stagefd, files[i].path, files[i].content, files[i].len)) {
			if (stagefd < 0)
				fg_error_set(FG_EIO, "%s: %s", stage, strerror(errno));
			front_fail("import", EXIT_USAGE, NULL);
			goto done;
		}
	}
	if (sync_dir(stage)) {
		front_fail("import", EXIT_USAGE, NULL);
		goto done;
	}
	old = fg_asprintf("%s/devices.old", stage);
	dst = fg_asprintf("%s/" FLEET_DEVICES_DIR, a->output);
	if ((exists(dst) && rename(dst, old)) || rename(dev, dst)) {
		fprintf(stderr, "fleetgate import: moving '%s' into place: %s\n", dst,
			strerror(errno));
		goto done;
	}
	free(dst);
	free(path);
	dst = fg_asprintf("%s/" FLEET_FILE, a->output);
	path = fg_asprintf("%s/" FLEET_FILE, stage);
	if (rename(path, dst)) {
		fprintf(stderr, "fleetgate import: moving '%s' into place: %s\n", dst,
			strerror(errno));
		goto done;
	}
	if (sync_dir(a->output)) {
		front_fail("import", EXIT_USAGE, NULL);
		goto done;
	}
	status = EXIT_OK;
done:
	if (stagefd >= 0)
		close(stagefd);
	remove_tree(stage);
	free(path);
	free(dev);
	free(old);
	free(dst);
	free(stage);
	return status;
}

static int import(const struct import_args *a, const struct edicd_import *imp)
{
	struct edicd_file *files = NULL;
	struct fg_buf b = FG_BUF_INIT;
	char *fy = fg_asprintf("%s/" FLEET_FILE, a->output);
	char *dv = fg_asprintf("%s/" FLEET_DEVICES_DIR, a->output);
	size_t n = 0, own = 0, i;
	int status;

	if (!a->force && (exists(fy) || exists(dv))) {
		fprintf(stderr, "fleetgate import: '%s' already holds %s: --force replaces it\n",
			a->output, exists(fy) ? FLEET_FILE : FLEET_DEVICES_DIR "/");
		status = EXIT_REJECTED;
		goto done;
	}
	edicd_fleet_files(imp, &files, &n);
	status = validate_files(files, n);
	if (!status)
		status = write_fleet(a, files, n);
	if (status)
		goto done;
	for (i = 0; i < imp->ndevices; i++)
		own += imp->devices[i].file != NULL;
	fg_buf_init(&b);
	fg_buf_puts(&b, "imported ");
	fg_buf_put_printable(&b, a->dir);
	fg_buf_printf(&b, " (%s) into ", imp->schema);
	fg_buf_put_printable(&b, a->output);
	fg_buf_printf(&b,
		      ": fleet.yaml and %zu device file%s (%zu from host_vars, %zu with the group's defaults",
		      imp->ndevices, imp->ndevices == 1 ? "" : "s", own, imp->ndevices - own);
	fg_buf_printf(&b, "%s)\n", imp->norphans ? "" : ", no orphans");
	print_notes(imp, &b);
	status = front_write_stdout(b.ptr, b.len);
done:
	edicd_files_free(files, n);
	fg_buf_release(&b);
	free(fy);
	free(dv);
	return status;
}

static void put_cell(struct fg_buf *b, const char *s, int width)
{
	size_t before = b->len;

	fg_buf_put_printable(b, s);
	for (; (int)(b->len - before) < width + 2;)
		fg_buf_putc(b, ' ');
}

static int check(const struct import_args *a, const struct edicd_import *imp)
{
	struct edicd_check_row *rows = NULL;
	struct fleet *fleet = NULL;
	struct fg_buf b = FG_BUF_INIT;
	struct diags diags;
	size_t n = 0, i, unequal = 0;
	int w[3] = { 6, 6, 9 }, status;

	diags_init(&diags);
	if (validate_dir(a->output, &fleet, &diags)) {
		status = front_fail("import", EXIT_USAGE, a->output);
		goto done;
	}
	if (diags.errors) {
		print_diags(&diags);
		fprintf(stderr, "fleetgate import: the fleet in '%s' does not validate\n", a->output);
		status = EXIT_REJECTED;
		goto done;
	}
	edicd_check(imp, fleet, &rows, &n);
	for (i = 0; i < n; i++) {
		w[0] = (int)strlen(rows[i].device) > w[0] ? (int)strlen(rows[i].device) : w[0];
		w[1] = (int)strlen(rows[i].edicd) > w[1] ? (int)strlen(rows[i].edicd) : w[1];
		w[2] = (int)strlen(rows[i].fleetgate) > w[2] ? (int)strlen(rows[i].fleetgate) : w[2];
	}
	fg_buf_init(&b);
	put_cell(&b, "device", w[0]);
	put_cell(&b, "edi-cd", w[1]);
	put_cell(&b, "fleetgate", w[2]);
	fg_buf_puts(&b, "equal\n");
	for (i = 0; i < n; i++) {
		put_cell(&b, rows[i].device, w[0]);
		put_cell(&b, rows[i].edicd, w[1]);
		put_cell(&b, rows[i].fleetgate, w[2]);
		if (rows[i].equal) {
			fg_buf_puts(&b, "yes\n");
			continue;
		}
		unequal++;
		fg_buf_puts(&b, "no: ");
		fg_buf_put_printable(&b, rows[i].difference);
		fg_buf_putc(&b, '\n');
	}
	fg_buf_printf(&b, "%zu of %zu equal\n", n - unequal, n);
	print_notes(imp, &b);
	status = front_write_stdout(b.ptr, b.len);
	if (!status)
		status = unequal ? EXIT_REJECTED : EXIT_OK;
done:
	edicd_check_free(rows, n);
	fleet_free(fleet);
	diags_release(&diags);
	fg_buf_release(&b);
	return status;
}

int cmd_import(int argc, char **argv)
{
	struct import_args a = { 0 };
	struct edicd_import imp;
	struct source src = { 0 };
	int status, rc;

	rc = parse_args(&a, argc, argv);
	if (rc)
		return rc < 0 ? EXIT_OK : rc;
	memset(&imp, 0, sizeof(imp));
	if (source_open_dir(&src, a.dir))
		return front_fail("import", EXIT_USAGE, NULL);
	if (edicd_read(&imp, &src, a.orphans)) {
		status = front_fail("import", EXIT_USAGE, a.dir);
		goto done;
	}
	if (imp.diags.errors || edicd_failed(&imp)) {
		print_diags(&imp.diags);
		print_failed(&imp);
		fprintf(stderr,
			"fleetgate import: %zu problem%s in the repository, %zu host%s Ansible would fail: nothing %s\n",
			imp.diags.errors, imp.diags.errors == 1 ? "" : "s", edicd_failed(&imp),
			edicd_failed(&imp) == 1 ? "" : "s", a.check ? "compared" : "written");
		status = EXIT_REJECTED;
		goto done;
	}
	status = a.check ? check(&a, &imp) : import(&a, &imp);
done:
	edicd_release(&imp);
	source_release(&src);
	return status;
}
