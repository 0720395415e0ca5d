/* Placeholder handlers: replaced by the real ones. */
#include "api_internal.h"

API_HANDLER(api_h_events) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
