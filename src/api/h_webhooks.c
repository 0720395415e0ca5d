/* Placeholder handlers: replaced by the real ones. */
#include "api_internal.h"

API_HANDLER(api_h_webhooks_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_webhooks_create) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_webhook_delete) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_deadletters_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_deadletter_retry) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_deadletter_delete) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
