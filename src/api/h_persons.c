/* Placeholder handlers: replaced by the real ones. */
#include "api_internal.h"

API_HANDLER(api_h_persons_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_persons_create) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_person_get) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_person_update) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_person_delete) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_person_photos_list) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_person_photos_add) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_person_photo_delete) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_photo_image) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_photos_check) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
API_HANDLER(api_h_identify) {
  api_reply_error(r, 501, "not_implemented", "not implemented yet");
}
