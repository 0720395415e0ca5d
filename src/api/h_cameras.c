/* Placeholder handlers: replaced by the real ones. */
#include "api_internal.h"

API_HANDLER(api_h_cameras_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_cameras_create) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_camera_get) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_camera_update) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_camera_delete) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_camera_enable) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_camera_disable) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_camera_snapshot) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
