#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

/*
 * The test-facing side of the stand-in: injected faults and the log of
 * Mender API requests (the /_sim/ handlers are in handlers.h). Callers hold
 * the server lock. sim_control_free frees everything sim_control_new made.
 */

#include <stdbool.h>
#include <stdint.h>

struct sim_control;

struct sim_control *sim_control_new(void);
void sim_control_free(struct sim_control *c);

/* What a matching fault does to one request. */
struct sim_fault_action {
	bool matched;
	unsigned int status; /* 0: answer normally (after the delay) */
	int64_t retry_after; /* seconds; 0: no Retry-After header */
	int64_t delay_ms;
	bool drop; /* close the connection without an answer */
};

/*
 * Find the first fault whose method and path prefix match, use up one of its
 * count, and describe it in `out` (out->matched false when none matched).
 */
void sim_control_take_fault(struct sim_control *c, const char *method, const char *path,
			    struct sim_fault_action *out);

/* Append to the request log; status 0 records a dropped connection. */
void sim_control_log(struct sim_control *c, const char *method, const char *path,
		     const char *query, unsigned int status);

#endif
