#ifndef FLEETGATE_HOOKS_H
#define FLEETGATE_HOOKS_H

#include <stddef.h>

/* The git server hooks. Each returns the hook's exit status. */
int hook_pre_receive(int argc, char **argv);
int hook_update(int argc, char **argv);
int hook_post_receive(int argc, char **argv);
int hook_reference_transaction(int argc, char **argv);

/* `fleetgate hook <name> ...` */
int cmd_hook(int argc, char **argv);

struct ref_update;

/* Read git's ref update lines from stdin (all of them, capped). *out is
 * malloc'd; release each with ref_update_release() and free it. */
int hook_read_updates(struct ref_update **out, size_t *count);

/* Who is pushing, from the forge's environment (docs/design.md), or NULL. */
const char *hook_pusher(void);

/* The value of push option `key` (git push -o key=value: GIT_PUSH_OPTION_*),
 * the last one given; NULL when not given. */
const char *hook_push_option(const char *key);

#endif
