// gatherd's flags for who may call: TLS and mTLS on the gRPC port, bearer tokens, credential profiles.
// `gatherd --help` lists them under this file's name.
#include <cstdint>
#include <string>

#include "absl/flags/flag.h"
#include "service/config/defaults.h"
#include "service/flags/flags.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain for the gRPC port (with --tls_key); re-read when the file "
          "changes. Without it gatherd serves plaintext (loopback development only)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: the Gather service then requires a client certificate signed by it "
          "(mTLS); health and reflection stay open to probes without one");
ABSL_FLAG(std::string, token_file, "",
          "bearer tokens, one 'NAME TOKEN [PROFILES]' per line: calls must carry "
          "'authorization: Bearer TOKEN'; re-read when the file changes (GATHERD_TOKEN in the "
          "environment adds one more)");
ABSL_FLAG(std::string, credentials_file, "",
          "credential profiles (JSON: name -> {hosts, headers}) callers can name instead of "
          "sending secrets; re-read when the file changes");
