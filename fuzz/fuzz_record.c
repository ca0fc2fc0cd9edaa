/*
 * libFuzzer target: the evidence records' decoder (lib/rules/record.c), on
 * any bytes. A record is read from refs/notes/fleetgate/<stage>, which only
 * fleetgate writes (pre-receive refuses pushes to it), but a repository's
 * notes can still be damaged or hand-edited: the decoder must never crash
 * or leak. Invariant checked (abort() when broken): a record that decodes
 * encodes to a text that decodes again and encodes to the same text.
 *
 *   make fuzz                    (all targets; corpus fuzz/corpus/record/)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "rules/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verify_record r, back;
	char *text, *again;

	record_init(&r);
	if (record_decode((const char *)data, size, "fuzz", &r)) {
		record_release(&r);
		fg_error_clear();
		return 0;
	}
	text = record_encode(&r);
	record_init(&back);
	if (record_decode(text, strlen(text), "fuzz", &back))
		abort();
	again = record_encode(&back);
	if (strcmp(text, again))
		abort();
	free(again);
	free(text);
	record_release(&back);
	record_release(&r);
	return 0;
}
