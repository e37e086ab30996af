#include "client/commands/common.h"

#include <algorithm>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json_pointer.h"
#include "common/url.h"
#include "common/status_names.h"

namespace gather::client {

std::string DefaultServer() {
  const char* env = std::getenv("GATHER_SERVER");
  return env != nullptr && env[0] != '\0' ? std::string(env) : std::string();
}

namespace {

absl::StatusOr<std::string> ReadSmallFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1u << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": ", path, " is over 1 MiB"));
  }
  return std::move(text).str();
}

bool IsLoopbackTarget(absl::string_view server) {
  absl::string_view host = server.substr(0, server.rfind(':'));
  return absl::StartsWith(host, "127.") || host == "localhost" || host == "[::1]" ||
         absl::StartsWith(host, "unix:");
}

}  // namespace

void ApplyConnectionEnvironment(ConnectionOptions& options) {
  if (const char* file = std::getenv("GATHER_TOKEN_FILE"); file != nullptr && file[0] != '\0') {
    if (options.token_file.empty()) options.token_file = file;
  }
  if (const char* token = std::getenv("GATHER_TOKEN"); token != nullptr && token[0] != '\0') {
    if (options.token.empty()) options.token = token;
  }
}

absl::StatusOr<Connection> Connect(const ConnectionOptions& options) {
  Connection connection;
  connection.server = options.server;
  if (options.server.empty()) return absl::InvalidArgumentError("--server: empty address");
  if (options.server.find(',') != std::string::npos) {
    return absl::InvalidArgumentError(
        "--server: a list of servers is for `gather lookup`; give one address");
  }
  if (!options.token_file.empty()) {
    auto text = ReadSmallFile("--token_file", options.token_file);
    if (!text.ok()) return text.status();
    absl::string_view first = *text;
    first = first.substr(0, first.find('\n'));
    connection.token = std::string(absl::StripAsciiWhitespace(first));
    if (connection.token.empty()) {
      return absl::InvalidArgumentError("--token_file: the first line holds no token");
    }
  } else {
    connection.token = std::string(absl::StripAsciiWhitespace(options.token));
  }
  for (char c : connection.token) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(
          "the bearer token has a character not allowed in gRPC metadata (spaces, control or "
          "non-ASCII bytes)");
    }
  }

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  // Keepalive: a ping every 30 s (only while a call is open) finds a connection that died
  // silently (a node gone, a NAT entry dropped) within 40 s, so a long lookup reconnects instead
  // of waiting forever. gatherd accepts pings this frequent (--keepalive flags there).
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10'000);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  bool tls = options.tls || !options.ca_file.empty() || !options.cert.empty() ||
             !options.key.empty();
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (tls) {
    if (options.cert.empty() != options.key.empty()) {
      return absl::InvalidArgumentError("--cert and --key go together (mTLS)");
    }
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      auto ca = ReadSmallFile("--ca_file", options.ca_file);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *std::move(ca);
    }
    if (!options.cert.empty()) {
      auto cert = ReadSmallFile("--cert", options.cert);
      if (!cert.ok()) return cert.status();
      auto key = ReadSmallFile("--key", options.key);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *std::move(cert);
      ssl.pem_private_key = *std::move(key);
    }
    credentials = grpc::SslCredentials(ssl);
    if (!options.server_name.empty()) {
      args.SetSslTargetNameOverride(options.server_name);
    }
  } else {
    credentials = grpc::InsecureChannelCredentials();
    if (!connection.token.empty() && !IsLoopbackTarget(options.server)) {
      std::cerr << "gather: warning: sending the bearer token to " << options.server
                << " without TLS (give --ca_file or --tls)\n";
    }
  }
  connection.channel = grpc::CreateCustomChannel(options.server, credentials, args);
  return connection;
}

void Connection::Prepare(grpc::ClientContext& context) const {
  if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

std::optional<Connection> ConnectOrReport(const ConnectionOptions& options, int* exit_code) {
  auto connection = Connect(options);
  if (!connection.ok()) {
    std::cerr << "gather: " << connection.status().message() << "\n";
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  return *std::move(connection);
}

absl::StatusOr<v1::Header> ParseHeaderFlag(absl::string_view text) {
  size_t colon = text.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError("--header must look like 'Name: value'");
  }
  v1::Header header;
  header.set_name(std::string(absl::StripAsciiWhitespace(text.substr(0, colon))));
  header.set_value(std::string(absl::StripAsciiWhitespace(text.substr(colon + 1))));
  return header;
}

absl::string_view StatusName(v1::JobStatus status) { return common::JobStatusName(status); }

absl::StatusOr<v1::Field> ParseFieldFlag(const std::string& text,
                                         const std::vector<std::string>& names) {
  size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--field \"", text, "\": expected NAME=/json/pointer"));
  }
  std::string name = text.substr(0, equals);
  std::string pointer = text.substr(equals + 1);
  if (auto parsed = common::ParseJsonPointer(pointer); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--field ", name, ": ", parsed.status().message()));
  }
  for (const std::string& existing : names) {
    if (existing == name) {
      return absl::InvalidArgumentError(absl::StrCat("--field ", name, ": given twice"));
    }
  }
  v1::Field field;
  field.set_name(std::move(name));
  field.set_pointer(std::move(pointer));
  return field;
}

absl::Status CheckRequireFlag(const std::string& pointer) {
  if (auto parsed = common::ParseJsonPointer(pointer); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--require \"", pointer, "\": ", parsed.status().message()));
  }
  return absl::OkStatus();
}

bool IsSuccess(v1::JobStatus status) {
  return status == v1::JOB_STATUS_OK || status == v1::JOB_STATUS_MISSING;
}

int ReportRpcError(const grpc::Status& status, const std::string& server) {
  switch (status.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      std::cerr << "gather: invalid request: " << status.error_message() << "\n";
      return kExitUsage;
    case grpc::StatusCode::UNAUTHENTICATED:
      std::cerr << "gather: gatherd refused the call's credentials: " << status.error_message()
                << " (see --token_file, --cert/--key)\n";
      return kExitUsage;
    case grpc::StatusCode::PERMISSION_DENIED:
      std::cerr << "gather: gatherd denied the call: " << status.error_message() << "\n";
      return kExitUsage;
    case grpc::StatusCode::FAILED_PRECONDITION:
      // The call could not go on for a reason outside gatherd (e.g. a discovery index failed).
      std::cerr << "gather: " << status.error_message() << "\n";
      return kExitJobsFailed;
    case grpc::StatusCode::UNAVAILABLE:
      std::cerr << "gather: cannot reach gatherd at " << server << " or it failed: "
                << status.error_message() << "\n";
      return kExitRpcFailed;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      std::cerr << "gather: the RPC deadline was exceeded: " << status.error_message() << "\n";
      return kExitRpcFailed;
    default:
      std::cerr << "gather: the RPC failed (" << status.error_code() << "): "
                << status.error_message() << "\n";
      return kExitRpcFailed;
  }
}

namespace {

absl::Status CheckPointerFlag(absl::string_view flag, const std::string& pointer) {
  if (absl::StatusOr<common::JsonPointer> parsed = common::ParseJsonPointer(pointer);
      !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " \"", pointer, "\": ",
                                                   parsed.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::optional<v1::Paging>> BuildPagingFlags(const PageFlags& options) {
  const bool next = !options.next_url.empty() || !options.next_token.empty();
  if (!next && !options.items && options.max_pages == 0 && options.token_param.empty()) {
    return std::optional<v1::Paging>();
  }
  v1::Paging out;
  v1::Paging* paging = &out;
  if (!options.next_url.empty() && !options.next_token.empty()) {
    return absl::InvalidArgumentError("--next-url and --next-token: give one of them");
  }
  if (options.next_url == "link") {
    paging->set_next_link(true);
  } else if (!options.next_url.empty()) {
    if (options.next_url.front() != '/') {
      return absl::InvalidArgumentError(absl::StrCat(
          "--next-url \"", options.next_url,
          "\": give the JSON pointer of the next page's URL in the body (/next) or \"link\" "
          "(the Link header)"));
    }
    if (absl::Status status = CheckPointerFlag("--next-url", options.next_url); !status.ok()) {
      return status;
    }
    paging->set_next_url_pointer(options.next_url);
  }
  if (!options.next_token.empty()) {
    if (absl::Status status = CheckPointerFlag("--next-token", options.next_token);
        !status.ok()) {
      return status;
    }
    if (options.token_param.empty()) {
      return absl::InvalidArgumentError(
          "--next-token needs --token-param NAME (the query parameter that carries it)");
    }
    paging->set_next_token_pointer(options.next_token);
    paging->set_token_param(options.token_param);
  } else if (!options.token_param.empty()) {
    return absl::InvalidArgumentError("--token-param needs --next-token POINTER");
  }
  if (options.items) {
    if (absl::Status status = CheckPointerFlag("--items", *options.items); !status.ok()) {
      return status;
    }
    paging->set_items(*options.items);
  }
  if (options.max_pages != 0) {
    if (!next) return absl::InvalidArgumentError("--max-pages needs --next-url or --next-token");
    if (options.max_pages > 10'000) {
      return absl::InvalidArgumentError("--max-pages must be at most 10000");
    }
    paging->set_max_pages(options.max_pages);
  }
  return std::optional<v1::Paging>(std::move(out));
}


std::vector<std::string> HostsOfRequest(const v1::FetchAndRankRequest& request) {
  std::vector<std::string> hosts;
  auto add = [&hosts](const std::string& url) {
    std::string host = common::HostOf(url);
    if (!host.empty() && std::find(hosts.begin(), hosts.end(), host) == hosts.end()) {
      hosts.push_back(std::move(host));
    }
  };
  for (const v1::Job& job : request.jobs()) add(job.url());
  if (request.has_discovery()) {
    add(request.discovery().index_url());
    add(request.discovery().url_template());
  }
  return hosts;
}

}  // namespace gather::client
