/*
 * Fuzz target: the stand-in's reader of .mender files (sim/artifact_file.c),
 * which takes apart whatever a client uploads: nested tars, gzip, xz and
 * zstd through libarchive, JSON through cJSON. Built with clang's libFuzzer
 * for `make fuzz` and as a plain program with fuzz/replay.c that `make
 * check` runs over fuzz/corpus/artifact/ (the Makefile's fuzz rules).
 *
 * Invariants (a violation aborts): sim_artifact_parse either refuses with
 * a message, or gives a name, at least one non-empty device type, a payload
 * type and provides holding artifact_name equal to the name; both ways it
 * frees everything (AddressSanitizer's leak check).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct sim_artifact_meta m;
	struct sim_buf err = SIM_BUF_INIT;
	const char *provided;
	size_t i;

	if (!ready) {
		sim_json_init();
		ready = 1;
	}
	if (sim_artifact_parse(data, size, &m, &err)) {
		if (!err.len)
			abort();
		sim_buf_release(&err);
		return 0;
	}
	if (err.len || !m.name || !*m.name || !m.ndevice_types || !m.payload_type)
		abort();
	for (i = 0; i < m.ndevice_types; i++)
		if (!m.device_types[i] || !*m.device_types[i])
			abort();
	provided = sim_json_get_string(m.provides, "artifact_name");
	if (!provided || strcmp(provided, m.name))
		abort();
	sim_artifact_meta_release(&m);
	return 0;
}
