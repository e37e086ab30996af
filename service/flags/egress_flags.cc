// gatherd's flags for where gatherd may connect: address and host rules checked on every connection and
// redirect hop.
// `gatherd --help` lists them under this file's name.
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "service/config/defaults.h"
#include "service/flags/flags.h"

ABSL_FLAG(std::string, egress_allow, "",
          "comma-separated CIDRs gatherd may connect to even though they are not public "
          "(e.g. 127.0.0.0/8 for local upstreams)");
ABSL_FLAG(std::string, egress_deny, "", "comma-separated CIDRs never to connect to (wins over --egress_allow)");
ABSL_FLAG(std::string, egress_allow_hosts, "",
          "host names (or *.suffix) that may be reached on non-public addresses, e.g. "
          "*.svc.cluster.local; --egress_deny still wins");
ABSL_FLAG(std::string, egress_deny_hosts, "",
          "host names (or *.suffix) never connected to, whatever they resolve to "
          "(e.g. metadata.google.internal); checked on every redirect hop");
ABSL_FLAG(int, follow_redirects, gather::config::kDefaultFollowRedirects, "redirects to follow per job (0: a 3xx answer ends the job with REDIRECT_ERROR)");
ABSL_FLAG(std::string, ca_file, "", "extra CA bundle (PEM) for TLS upstreams");
