#ifndef FLEETGATE_HOOKS_H
#define FLEETGATE_HOOKS_H

/* The git server hooks. Each returns the hook's exit status. */
int hook_pre_receive(int argc, char **argv);
int hook_update(int argc, char **argv);

/* `fleetgate hook <name> ...` */
int cmd_hook(int argc, char **argv);

/* Who is pushing, from the forge's environment (SPEC §4.5), or NULL. */
const char *hook_pusher(void);

#endif
