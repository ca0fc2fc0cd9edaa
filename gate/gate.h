#ifndef FLEETGATE_GATE_CMD_H
#define FLEETGATE_GATE_CMD_H

/* `fleetgate gate ...`: the merge-request gate; its exit status. */
int cmd_gate(int argc, char **argv);

#endif
