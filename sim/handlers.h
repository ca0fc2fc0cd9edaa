#ifndef SIM_HANDLERS_H
#define SIM_HANDLERS_H

/*
 * Every endpoint's handler, by service. http.c routes to them with the
 * server lock held; each fills the response (status, headers, body) and
 * never blocks. Path parameters arrive in req->params in path order.
 */

#include "api.h"

/* useradm.c: login, logout, personal access tokens */
sim_handler sim_useradm_login;
sim_handler sim_useradm_logout;
sim_handler sim_useradm_tokens_list;
sim_handler sim_useradm_tokens_create;
sim_handler sim_useradm_tokens_delete;

/* inventory.c */
sim_handler sim_inventory_list;
sim_handler sim_inventory_get;
sim_handler sim_inventory_search;
sim_handler sim_inventory_tags_patch;
sim_handler sim_inventory_tags_put;

/* deployments.c */
sim_handler sim_deployments_create;
sim_handler sim_deployments_create_group;
sim_handler sim_deployments_list_v1;
sim_handler sim_deployments_list_v2;
sim_handler sim_deployments_get;
sim_handler sim_deployments_statistics;
sim_handler sim_deployments_statistics_list;
sim_handler sim_deployments_devices_list;
sim_handler sim_deployments_device_list;
sim_handler sim_deployments_abort;
sim_handler sim_deployments_device_history;
sim_handler sim_deployments_device_abort;
sim_handler sim_deployments_device_reset;
sim_handler sim_artifacts_list_v1;
sim_handler sim_artifacts_list_v2;

/* deviceconfig.c */
sim_handler sim_deviceconfig_get;
sim_handler sim_deviceconfig_put;
sim_handler sim_deviceconfig_deploy;

/* control.c: /_sim/ */
sim_handler sim_control_state;
sim_handler sim_control_requests_get;
sim_handler sim_control_requests_clear;
sim_handler sim_control_faults_get;
sim_handler sim_control_faults_add;
sim_handler sim_control_faults_clear;
sim_handler sim_control_step;
sim_handler sim_control_devices_add;
sim_handler sim_control_device_put;
sim_handler sim_control_artifacts_add;

/* settings.c: /_sim/settings */
sim_handler sim_control_settings_get;
sim_handler sim_control_settings_put;

/* devauth.c: device authentication and admission */
sim_handler sim_devauth_auth_request;
sim_handler sim_devauth_list;
sim_handler sim_devauth_get;
sim_handler sim_devauth_set_status;
sim_handler sim_control_device_tokens_drop;

/* device_api.c: what a real Mender client calls once authenticated */
sim_handler sim_device_next;
sim_handler sim_device_status;
sim_handler sim_device_log;
sim_handler sim_device_inventory;
sim_handler sim_device_download;
sim_handler sim_device_config_download;
sim_handler sim_device_config_report;
sim_handler sim_device_config_get;
sim_handler sim_deployments_device_log;

/* artifact_api.c: artifacts uploaded as .mender files */
sim_handler sim_artifacts_upload;
sim_handler sim_artifacts_delete;

#endif
