/* The route table: every route the server has, with the roles that may call
 * it. One table feeds the router, the role checks, and the tests that check
 * it against docs/openapi.json (every route documented, nothing documented
 * that does not exist) and walk the whole role x route matrix.
 *
 * Roles (docs/api.md): admin (users, cameras, settings), supervisor
 * (watchlists, persons, enrolment), operator (sees alerts, decides),
 * auditor (the audit log, nothing biometric beyond it). */
#include "api_internal.h"

/* h_system.c, auth.c */
API_HANDLER(api_h_healthz);
API_HANDLER(api_h_readyz);
API_HANDLER(api_h_metrics);
API_HANDLER(api_h_openapi);
API_HANDLER(api_h_status);
API_HANDLER(api_h_setup_get);
API_HANDLER(api_h_setup_post);
API_HANDLER(api_h_login);
API_HANDLER(api_h_logout);
API_HANDLER(api_h_me);
/* events.c */
API_HANDLER(api_h_events);
/* h_cameras.c */
API_HANDLER(api_h_cameras_list);
API_HANDLER(api_h_cameras_create);
API_HANDLER(api_h_camera_get);
API_HANDLER(api_h_camera_update);
API_HANDLER(api_h_camera_delete);
API_HANDLER(api_h_camera_enable);
API_HANDLER(api_h_camera_disable);
API_HANDLER(api_h_camera_snapshot);
/* h_watchlists.c */
API_HANDLER(api_h_watchlists_list);
API_HANDLER(api_h_watchlists_create);
API_HANDLER(api_h_watchlist_get);
API_HANDLER(api_h_watchlist_update);
API_HANDLER(api_h_watchlist_delete);
/* h_persons.c */
API_HANDLER(api_h_persons_list);
API_HANDLER(api_h_persons_create);
API_HANDLER(api_h_person_get);
API_HANDLER(api_h_person_update);
API_HANDLER(api_h_person_delete);
API_HANDLER(api_h_person_photos_list);
API_HANDLER(api_h_person_photos_add);
API_HANDLER(api_h_person_photo_delete);
API_HANDLER(api_h_photo_image);
API_HANDLER(api_h_photos_check);
API_HANDLER(api_h_identify);
/* h_rights.c */
API_HANDLER(api_h_person_export);
API_HANDLER(api_h_person_erase);
/* h_alerts.c */
API_HANDLER(api_h_alerts_list);
API_HANDLER(api_h_alert_get);
API_HANDLER(api_h_alert_crop);
API_HANDLER(api_h_alert_thumb);
API_HANDLER(api_h_alert_decision);
/* h_admin.c */
API_HANDLER(api_h_audit_list);
API_HANDLER(api_h_audit_verify);
/* h_retention.c */
API_HANDLER(api_h_retention_get);
API_HANDLER(api_h_retention_update);
API_HANDLER(api_h_retention_purge);
API_HANDLER(api_h_users_list);
API_HANDLER(api_h_users_create);
API_HANDLER(api_h_user_get);
API_HANDLER(api_h_user_update);
API_HANDLER(api_h_user_delete);
API_HANDLER(api_h_tokens_list);
API_HANDLER(api_h_tokens_create);
API_HANDLER(api_h_token_delete);
/* h_webhooks.c */
API_HANDLER(api_h_webhooks_list);
API_HANDLER(api_h_webhooks_create);
API_HANDLER(api_h_webhook_delete);
API_HANDLER(api_h_deadletters_list);
API_HANDLER(api_h_deadletter_retry);
API_HANDLER(api_h_deadletter_delete);

#define SEE (API_R_ADMIN | API_R_SUPERVISOR | API_R_OPERATOR)
#define P API_PREFIX

const api_route api_routes[] = {
    /* Probes and documents. */
    {"GET", "/healthz", API_R_PUBLIC, API_F_NO_SETUP, api_h_healthz},
    {"GET", "/readyz", API_R_PUBLIC, API_F_NO_SETUP, api_h_readyz},
    {"GET", "/metrics", API_R_ADMIN | API_R_AUDITOR, 0, api_h_metrics},
    {"GET", P "/openapi.json", API_R_PUBLIC, API_F_NO_SETUP, api_h_openapi},
    {"GET", P "/status", API_R_ADMIN | API_R_OPERATOR, 0, api_h_status},
    /* Accounts. */
    {"GET", P "/setup", API_R_PUBLIC, API_F_NO_SETUP, api_h_setup_get},
    {"POST", P "/setup", API_R_PUBLIC, API_F_NO_SETUP, api_h_setup_post},
    {"POST", P "/auth/login", API_R_PUBLIC, 0, api_h_login},
    {"POST", P "/auth/logout", API_R_ANY, 0, api_h_logout},
    {"GET", P "/auth/me", API_R_ANY, 0, api_h_me},
    /* Live events. */
    {"GET", P "/events", SEE, API_F_STREAM, api_h_events},
    /* Cameras. */
    {"GET", P "/cameras", SEE, 0, api_h_cameras_list},
    {"POST", P "/cameras", API_R_ADMIN, 0, api_h_cameras_create},
    {"GET", P "/cameras/{id}", SEE, 0, api_h_camera_get},
    {"PATCH", P "/cameras/{id}", API_R_ADMIN, 0, api_h_camera_update},
    {"DELETE", P "/cameras/{id}", API_R_ADMIN, 0, api_h_camera_delete},
    {"POST", P "/cameras/{id}/enable", API_R_ADMIN, 0, api_h_camera_enable},
    {"POST", P "/cameras/{id}/disable", API_R_ADMIN, 0, api_h_camera_disable},
    {"GET", P "/cameras/{id}/snapshot", API_R_ADMIN | API_R_OPERATOR, 0,
     api_h_camera_snapshot},
    /* Watchlists. */
    {"GET", P "/watchlists", SEE, 0, api_h_watchlists_list},
    {"POST", P "/watchlists", API_R_SUPERVISOR, 0, api_h_watchlists_create},
    {"GET", P "/watchlists/{id}", SEE, 0, api_h_watchlist_get},
    {"PATCH", P "/watchlists/{id}", API_R_SUPERVISOR, 0,
     api_h_watchlist_update},
    {"DELETE", P "/watchlists/{id}", API_R_SUPERVISOR, 0,
     api_h_watchlist_delete},
    /* Persons and their photos. */
    {"GET", P "/persons", API_R_SUPERVISOR, 0, api_h_persons_list},
    {"POST", P "/persons", API_R_SUPERVISOR, API_F_MULTIPART,
     api_h_persons_create},
    {"GET", P "/persons/{id}", API_R_SUPERVISOR, 0, api_h_person_get},
    {"PATCH", P "/persons/{id}", API_R_SUPERVISOR, 0, api_h_person_update},
    {"DELETE", P "/persons/{id}", API_R_SUPERVISOR, 0, api_h_person_delete},
    {"GET", P "/persons/{id}/export", API_R_ADMIN, 0, api_h_person_export},
    {"POST", P "/persons/{id}/erase", API_R_ADMIN, 0, api_h_person_erase},
    {"GET", P "/persons/{id}/photos", API_R_SUPERVISOR, 0,
     api_h_person_photos_list},
    {"POST", P "/persons/{id}/photos", API_R_SUPERVISOR, API_F_MULTIPART,
     api_h_person_photos_add},
    {"DELETE", P "/persons/{id}/photos/{photo}", API_R_SUPERVISOR, 0,
     api_h_person_photo_delete},
    {"GET", P "/photos/{id}/image", API_R_SUPERVISOR | API_R_OPERATOR, 0,
     api_h_photo_image},
    {"POST", P "/photos/check", API_R_SUPERVISOR, API_F_MULTIPART,
     api_h_photos_check},
    {"POST", P "/identify", API_R_SUPERVISOR | API_R_OPERATOR,
     API_F_MULTIPART, api_h_identify},
    /* Alerts and decisions. */
    {"GET", P "/alerts", API_R_OPERATOR | API_R_SUPERVISOR, 0,
     api_h_alerts_list},
    {"GET", P "/alerts/{id}", API_R_OPERATOR | API_R_SUPERVISOR, 0,
     api_h_alert_get},
    {"GET", P "/alerts/{id}/crop", API_R_OPERATOR | API_R_SUPERVISOR, 0,
     api_h_alert_crop},
    {"GET", P "/alerts/{id}/thumb", API_R_OPERATOR | API_R_SUPERVISOR, 0,
     api_h_alert_thumb},
    {"POST", P "/alerts/{id}/decision", API_R_OPERATOR, 0,
     api_h_alert_decision},
    /* Audit, users, tokens. */
    {"GET", P "/audit", API_R_AUDITOR | API_R_ADMIN, 0, api_h_audit_list},
    {"GET", P "/audit/verify", API_R_AUDITOR | API_R_ADMIN, 0,
     api_h_audit_verify},
    /* Retention. */
    {"GET", P "/retention", API_R_ADMIN | API_R_AUDITOR, 0,
     api_h_retention_get},
    {"PATCH", P "/retention", API_R_ADMIN, 0, api_h_retention_update},
    {"POST", P "/retention/purge", API_R_ADMIN, 0, api_h_retention_purge},
    {"GET", P "/users", API_R_ADMIN, 0, api_h_users_list},
    {"POST", P "/users", API_R_ADMIN, 0, api_h_users_create},
    {"GET", P "/users/{id}", API_R_ADMIN, 0, api_h_user_get},
    {"PATCH", P "/users/{id}", API_R_ADMIN, 0, api_h_user_update},
    {"DELETE", P "/users/{id}", API_R_ADMIN, 0, api_h_user_delete},
    {"GET", P "/tokens", API_R_ADMIN, 0, api_h_tokens_list},
    {"POST", P "/tokens", API_R_ADMIN, 0, api_h_tokens_create},
    {"DELETE", P "/tokens/{id}", API_R_ADMIN, 0, api_h_token_delete},
    /* Outbound webhooks. */
    {"GET", P "/webhooks", API_R_ADMIN, 0, api_h_webhooks_list},
    {"POST", P "/webhooks", API_R_ADMIN, 0, api_h_webhooks_create},
    {"DELETE", P "/webhooks/{id}", API_R_ADMIN, 0, api_h_webhook_delete},
    {"GET", P "/webhooks/deadletters", API_R_ADMIN, 0,
     api_h_deadletters_list},
    {"POST", P "/webhooks/deadletters/{id}/retry", API_R_ADMIN, 0,
     api_h_deadletter_retry},
    {"DELETE", P "/webhooks/deadletters/{id}", API_R_ADMIN, 0,
     api_h_deadletter_delete},
};
const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0];
