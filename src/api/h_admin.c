/* Placeholder handlers: replaced by the real ones. */
#include "api_internal.h"

API_HANDLER(api_h_audit_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_users_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_users_create) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_user_get) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_user_update) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_user_delete) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_tokens_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_tokens_create) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_token_delete) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
