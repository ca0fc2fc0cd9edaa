#ifndef FLEETGATE_PLAN_REPORT_H
#define FLEETGATE_PLAN_REPORT_H

#include "core/buf.h"
#include "deploy/plan.h"

/* A plan rendered for people (text) and for tools (JSON). Secret values
 * never appear: the JSON shows "***" for them and the text no values. */

/* With `all`, devices with nothing to do are listed too. */
void plan_report_text(struct fg_buf *out, const struct plan *p, int all);
void plan_report_json(struct fg_buf *out, const struct plan *p);
/* One line: "production@1a2b3c4: 3 OS updates in 2 deployments, ..." */
void plan_report_summary(struct fg_buf *out, const struct plan *p);

const char *plan_os_name(enum plan_os os);
const char *plan_config_name(enum plan_config c);
const char *plan_kind_name(enum plan_kind k);

/* A device's state as status shows it: the kind of a device left alone
 * (conflict, not-accepted, unknown); for a managed one its status in its
 * fleetgate deployment of the desired artifact as Mender says (pending,
 * downloading, installing, rebooting, success, failure, ...),
 * "update-needed", "no-artifact", "in-sync"; NULL when it has no OS image
 * (configuration only). */
const char *plan_device_state(const struct plan_device *d);

#endif
