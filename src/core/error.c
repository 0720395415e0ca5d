#include <stdio.h>

#include "argus/core.h"

static const char *const err_msgs[] = {
#define ARGUS_ERR_MSG_(name, msg) msg,
    ARGUS_ERRNO_MAP(ARGUS_ERR_MSG_)
#undef ARGUS_ERR_MSG_
};

static const char *const err_names[] = {
#define ARGUS_ERR_NAME_(name, msg) #name,
    ARGUS_ERRNO_MAP(ARGUS_ERR_NAME_)
#undef ARGUS_ERR_NAME_
};

const char *argus_strerror(argus_err err) {
  if ((unsigned)err >= ARGUS_E_COUNT_)
    return "unknown error";
  return err_msgs[err];
}

const char *argus_errname(argus_err err) {
  if ((unsigned)err >= ARGUS_E_COUNT_)
    return "UNKNOWN";
  return err_names[err];
}

#ifndef ARGUS_VERSION_STRING
#define ARGUS_VERSION_STRING "0.0.0"
#endif
const char *argus_version(void) { return ARGUS_VERSION_STRING; }

void argus_error_detail_setv(argus_error_detail *e, const char *fmt,
                             va_list ap) {
  if (!e)
    return;
  if (!fmt) {
    e->msg[0] = '\0';
    return;
  }
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

argus_err argus_error_fail(argus_error_detail *err, argus_err code,
                           argus_log_level level, const char *module,
                           const char *fmt, ...) {
  argus_error_detail d;
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(&d, fmt, ap);
  va_end(ap);
  argus_log(level, module, "%s", d.msg);
  if (err)
    *err = d;
  return code;
}

void argus_error_detail_set(argus_error_detail *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(e, fmt, ap);
  va_end(ap);
}
