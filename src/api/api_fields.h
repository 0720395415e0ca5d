/* Strict JSON bodies: the field tables and api_fields_check now live in
 * parse.h (request parsing); this header stays for the handlers that
 * include it. */
#ifndef ARGUS_API_FIELDS_H
#define ARGUS_API_FIELDS_H

#include "parse.h"

#endif
