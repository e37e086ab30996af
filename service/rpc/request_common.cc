#include "service/rpc/request_common.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/json_pointer.h"

namespace gather::rpc {
namespace {

bool IsTokenChar(unsigned char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != absl::string_view::npos;
}

}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

absl::Status ValidateHeaders(const google::protobuf::RepeatedPtrField<v1::Header>& headers,
                             absl::string_view field, const config::Limits& limits) {
  if (static_cast<size_t>(headers.size()) > limits.max_headers) {
    return FieldError(field, absl::StrCat("more than ", limits.max_headers, " headers"));
  }
  for (int i = 0; i < headers.size(); ++i) {
    const v1::Header& header = headers[i];
    std::string name_field = absl::StrCat(field, "[", i, "].name");
    if (header.name().empty()) return FieldError(name_field, "header name is empty");
    for (unsigned char c : header.name()) {
      if (!IsTokenChar(c)) {
        return FieldError(name_field, "header name has a character not allowed in HTTP");
      }
    }
    if (header.name().size() + header.value().size() > limits.max_header_bytes) {
      return FieldError(absl::StrCat(field, "[", i, "]"),
                        absl::StrCat("header longer than ", limits.max_header_bytes, " bytes"));
    }
    for (char c : header.value()) {
      if (c == '\r' || c == '\n' || c == '\0') {
        return FieldError(absl::StrCat(field, "[", i, "].value"),
                          "header value contains CR, LF or NUL");
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<fetch::Method> ParseMethod(absl::string_view name, absl::string_view field) {
  std::string upper = absl::AsciiStrToUpper(name);
  if (upper.empty() || upper == "GET") return fetch::Method::kGet;
  if (upper == "HEAD") return fetch::Method::kHead;
  if (upper == "POST") return fetch::Method::kPost;
  if (upper == "PUT") return fetch::Method::kPut;
  if (upper == "PATCH") return fetch::Method::kPatch;
  if (upper == "DELETE") return fetch::Method::kDelete;
  return FieldError(field, "must be GET, HEAD, POST, PUT, PATCH or DELETE");
}

absl::StatusOr<Extraction> ParseExtraction(
    const google::protobuf::RepeatedPtrField<v1::Field>& fields,
    const google::protobuf::RepeatedPtrField<std::string>& required, absl::string_view prefix,
    const config::Limits& limits) {
  Extraction out;
  if (static_cast<size_t>(fields.size()) > limits.max_fields) {
    return FieldError(absl::StrCat(prefix, "fields"),
                      absl::StrCat("more than ", limits.max_fields, " fields"));
  }
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < fields.size(); ++i) {
    const v1::Field& field = fields[i];
    std::string where = absl::StrCat(prefix, "fields[", i, "]");
    if (field.name().empty()) return FieldError(absl::StrCat(where, ".name"), "name is empty");
    if (!names.insert(field.name()).second) {
      return FieldError(absl::StrCat(where, ".name"),
                        absl::StrCat("duplicate field name \"", field.name(), "\""));
    }
    auto pointer = common::ParseJsonPointer(field.pointer());
    if (!pointer.ok()) {
      return FieldError(absl::StrCat(where, ".pointer"), pointer.status().message());
    }
    out.fields.push_back(extract::FieldSpec{field.name(), *std::move(pointer)});
  }
  if (static_cast<size_t>(required.size()) > limits.max_fields) {
    return FieldError(absl::StrCat(prefix, "required"),
                      absl::StrCat("more than ", limits.max_fields, " pointers"));
  }
  for (int i = 0; i < required.size(); ++i) {
    auto pointer = common::ParseJsonPointer(required[i]);
    if (!pointer.ok()) {
      return FieldError(absl::StrCat(prefix, "required[", i, "]"), pointer.status().message());
    }
    out.required.push_back(*std::move(pointer));
  }
  return out;
}

absl::StatusOr<ResolvedPolicy> ResolvePolicy(const v1::FetchPolicy& policy,
                                             absl::string_view field,
                                             const config::Limits& limits) {
  ResolvedPolicy resolved;
  if (!std::isfinite(policy.timeout_seconds()) || policy.timeout_seconds() < 0) {
    return FieldError(absl::StrCat(field, ".timeout_seconds"), "must be a finite number >= 0");
  }
  resolved.timeout = policy.timeout_seconds() == 0 ? limits.default_timeout
                                                   : absl::Seconds(policy.timeout_seconds());
  if (resolved.timeout > limits.max_timeout) {
    return FieldError(absl::StrCat(field, ".timeout_seconds"),
                      absl::StrCat("over the server's maximum of ",
                                   absl::ToDoubleSeconds(limits.max_timeout), " s"));
  }
  if (policy.concurrency() > static_cast<uint32_t>(limits.max_rpc_concurrency)) {
    return FieldError(absl::StrCat(field, ".concurrency"),
                      absl::StrCat("over the server's maximum of ", limits.max_rpc_concurrency));
  }
  resolved.concurrency = policy.concurrency() == 0 ? limits.default_concurrency
                                                   : static_cast<int>(policy.concurrency());
  if (policy.max_body_bytes() > limits.max_body_bytes) {
    return FieldError(absl::StrCat(field, ".max_body_bytes"),
                      absl::StrCat("over the server's maximum of ", limits.max_body_bytes));
  }
  resolved.max_body_bytes = policy.max_body_bytes() == 0 ? limits.default_max_body_bytes
                                                         : policy.max_body_bytes();
  if (!std::isfinite(policy.rate()) || policy.rate() < 0) {
    return FieldError(absl::StrCat(field, ".rate"), "must be a finite number >= 0");
  }
  if (policy.rate() > limits.max_rate) {
    return FieldError(absl::StrCat(field, ".rate"),
                      absl::StrCat("over the server's maximum of ", limits.max_rate, " per second"));
  }
  if (policy.burst() > 0 && policy.rate() == 0 && !policy.rate_auto()) {
    return FieldError(absl::StrCat(field, ".burst"), "a burst needs a rate");
  }
  resolved.rate = policy.rate();
  resolved.burst = policy.burst();
  if (policy.max_attempts() > static_cast<uint32_t>(limits.max_attempts)) {
    return FieldError(absl::StrCat(field, ".max_attempts"),
                      absl::StrCat("over the server's maximum of ", limits.max_attempts));
  }
  resolved.coalesce = !policy.no_coalescing();
  resolved.rate_auto = policy.rate_auto();
  if (!std::isfinite(policy.hedge_after_ms()) || policy.hedge_after_ms() < 0) {
    return FieldError(absl::StrCat(field, ".hedge_after_ms"), "must be a finite number >= 0");
  }
  if (policy.hedge_after_ms() > 0) resolved.hedge_after = absl::Milliseconds(policy.hedge_after_ms());
  resolved.hedge_auto = policy.hedge_auto();
  resolved.redirect_keeps_headers = policy.redirect_keeps_headers();
  resolved.idempotent = policy.idempotent();
  resolved.max_attempts = policy.max_attempts() == 0 ? limits.default_attempts
                                                     : static_cast<int>(policy.max_attempts());
  return resolved;
}

fetch::GroupOptions GroupOptionsFor(const ResolvedPolicy& policy, absl::Time deadline) {
  fetch::GroupOptions options;
  options.max_concurrency = policy.concurrency;
  options.deadline = deadline;
  options.rate = policy.rate;
  options.burst = policy.burst;
  options.rate_auto = policy.rate_auto;
  options.hedge_after = policy.hedge_after;
  options.hedge_auto = policy.hedge_auto;
  return options;
}

void ApplyPolicy(const ResolvedPolicy& policy, fetch::FetchRequest& request) {
  request.timeout = policy.timeout;
  request.max_body_bytes = policy.max_body_bytes;
  request.max_attempts = policy.max_attempts;
  request.coalesce = policy.coalesce;
  request.no_redirects = policy.no_redirects;
  request.redirect_keeps_headers = policy.redirect_keeps_headers;
  request.idempotent = policy.idempotent;
}

absl::StatusOr<std::shared_ptr<const auth::CredentialProfile>> ResolveCredential(
    absl::string_view name, absl::string_view field, const auth::Caller& caller,
    const std::shared_ptr<const auth::CredentialProfiles>& profiles) {
  if (name.empty()) return std::shared_ptr<const auth::CredentialProfile>();
  const auth::CredentialProfile* profile =
      profiles == nullptr ? nullptr : profiles->Find(name);
  if (profile == nullptr) {
    return FieldError(field, absl::StrCat("no credential profile named \"",
                                          absl::CHexEscape(name.substr(0, 128)), "\""));
  }
  if (!caller.MayUse(name)) {
    return absl::PermissionDeniedError(absl::StrCat(
        field, ": caller \"", caller.name, "\" may not use credential \"", name, "\""));
  }
  return std::shared_ptr<const auth::CredentialProfile>(profiles, profile);
}

absl::Status AddCredentialHeaders(const auth::CredentialProfile& profile,
                                  absl::string_view headers_field, HeaderList& headers) {
  for (size_t i = 0; i < headers.size(); ++i) {
    for (const auto& [name, value] : profile.headers) {
      if (absl::EqualsIgnoreCase(headers[i].first, name)) {
        return FieldError(absl::StrCat(headers_field, "[", i, "].name"),
                          absl::StrCat("\"", name, "\" is set by credential \"", profile.name,
                                       "\""));
      }
    }
  }
  headers.insert(headers.end(), profile.headers.begin(), profile.headers.end());
  return absl::OkStatus();
}

absl::Status CheckCredentialHost(const auth::CredentialProfile& profile, absl::string_view field,
                                 absl::string_view host) {
  if (!profile.hosts.Match(host).empty()) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat(field, ": credential \"", profile.name, "\" may not be sent to host \"",
                   absl::CHexEscape(host), "\""));
}

absl::Time JobDeadline(absl::Time rpc_deadline, absl::Time now) {
  if (rpc_deadline == absl::InfiniteFuture()) return rpc_deadline;
  absl::Duration left = rpc_deadline - now;
  absl::Duration margin = std::min(left / 10, absl::Milliseconds(250));
  return rpc_deadline - std::max(margin, absl::ZeroDuration());
}

absl::Time RpcDeadline(std::chrono::system_clock::time_point deadline) {
  if (deadline >= std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 10)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

}  // namespace gather::rpc
