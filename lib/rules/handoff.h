#ifndef FLEETGATE_HANDOFF_H
#define FLEETGATE_HANDOFF_H

/*
 * pre-receive judges every ref of a push together, but only git's `update`
 * hook can refuse one ref and let the others land (a non-atomic push). So
 * pre-receive writes one verdict per ref update into
 * $GIT_DIR/fleetgate/verdicts/, and the update hook of the same push takes
 * it. A verdict is keyed by the receive-pack process both hooks run under
 * and by the update itself (ref, old, new).
 */

/* The pid of the git receive-pack process this hook runs under (the
 * nearest ancestor whose command line names receive-pack), else the parent. */
long handoff_push_id(void);

/* Whether this hook runs under git receive-pack (a push), not under the
 * server's own git commands (an admin's update-ref, gc, fetch). */
int handoff_in_push(void);

/* Record that the update of `ref` from `old_id` to `new_id` is accepted or
 * not. Written atomically. Also removes verdicts older than an hour that
 * earlier pushes left behind. */
int handoff_write(const char *gitdir, long push, const char *ref, const char *old_id,
		  const char *new_id, int accepted);

/* Take (read and remove) the verdict for this update: *found 0 when none
 * was written. */
int handoff_take(const char *gitdir, long push, const char *ref, const char *old_id,
		 const char *new_id, int *found, int *accepted);

#endif
