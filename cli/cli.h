#ifndef FLEETGATE_CLI_H
#define FLEETGATE_CLI_H

/*
 * The operator commands of cli/ (cli/install.c, cli/ops.c); cli/main.c
 * dispatches to them and to the front ends of hooks/, gate/ and validate/.
 * What every front end shares is in front/front.h.
 */

int cmd_install(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_import(int argc, char **argv);

#endif
