/* Placeholder handlers: replaced by the real ones. */
#include "api_internal.h"

API_HANDLER(api_h_watchlists_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_watchlists_create) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_watchlist_get) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_watchlist_update) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_watchlist_delete) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
