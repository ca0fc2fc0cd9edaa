#ifndef FLEETGATE_VALIDATE_CMD_H
#define FLEETGATE_VALIDATE_CMD_H

/* `fleetgate validate ...`: check a fleet configuration; its exit status. */
int cmd_validate(int argc, char **argv);

#endif
