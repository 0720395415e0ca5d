/* Date options of the legal basis (legal_cli.h). */
#include "cli/legal_cli.h"

#include "argus/store.h"
#include "cli/cli.h"

int legal_cli_date(const char *cmd, const char *opt, const char *s) {
  int64_t ns = 0;
  char canon[ARGUS_STORE_TIME_MAX];
  if (argus_store_date_parse(s, &ns, canon) != ARGUS_OK) {
    cli_errorf(cmd,
               "%s: '%s' is not a date (YYYY-MM-DD or RFC 3339 such as "
               "2027-01-31T18:00:00Z)",
               opt, s);
    return -1;
  }
  int64_t now = argus_store_clock_ns();
  if (ns <= now) {
    char t[ARGUS_STORE_TIME_MAX];
    argus_rfc3339(now, t);
    cli_errorf(cmd, "%s: %s is not in the future (now %s)", opt, canon, t);
    return -1;
  }
  return 0;
}
