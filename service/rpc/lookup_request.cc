#include "service/rpc/lookup_request.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/url.h"
#include "service/extract/http_url.h"
#include "service/rpc/request_common.h"

namespace gather::rpc {

absl::StatusOr<LookupPlan> BuildLookupPlan(const v1::LookupSpec& spec,
                                           const config::Limits& limits,
                                           const auth::CredentialProfile* credential) {
  LookupPlan plan;
  if (spec.url_template().size() > limits.max_url_length) {
    return FieldError("spec.url_template",
                      absl::StrCat("longer than ", limits.max_url_length, " bytes"));
  }
  auto tmpl = extract::ParseUrlTemplate(spec.url_template());
  if (!tmpl.ok()) return FieldError("spec.url_template", tmpl.status().message());
  plan.host = common::HostOf(tmpl->Expand("k"));
  plan.url_template = *std::move(tmpl);

  std::string method = absl::AsciiStrToUpper(spec.method());
  if (method.empty() || method == "GET") {
    plan.head = false;
  } else if (method == "HEAD") {
    plan.head = true;
  } else {
    return FieldError("spec.method", "must be GET or HEAD");
  }

  if (absl::Status status = ValidateHeaders(spec.headers(), "spec.headers", limits);
      !status.ok()) {
    return status;
  }
  HeaderList headers;
  for (const v1::Header& header : spec.headers()) {
    headers.emplace_back(header.name(), header.value());
  }
  if (credential != nullptr) {
    if (absl::Status status = CheckCredentialHost(*credential, "spec.url_template", plan.host);
        !status.ok()) {
      return status;
    }
    if (absl::Status status = AddCredentialHeaders(*credential, "spec.headers", headers);
        !status.ok()) {
      return status;
    }
  }
  if (!headers.empty()) plan.headers = std::make_shared<fetch::HeaderSet>(headers);

  if (static_cast<size_t>(spec.fields_size()) > limits.max_fields) {
    return FieldError("spec.fields", absl::StrCat("more than ", limits.max_fields, " fields"));
  }
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < spec.fields_size(); ++i) {
    const v1::Field& field = spec.fields(i);
    std::string where = absl::StrCat("spec.fields[", i, "]");
    if (field.name().empty()) return FieldError(absl::StrCat(where, ".name"), "name is empty");
    if (!names.insert(field.name()).second) {
      return FieldError(absl::StrCat(where, ".name"),
                        absl::StrCat("duplicate field name \"", field.name(), "\""));
    }
    auto pointer = common::ParseJsonPointer(field.pointer());
    if (!pointer.ok()) {
      return FieldError(absl::StrCat(where, ".pointer"), pointer.status().message());
    }
    plan.fields.push_back(extract::FieldSpec{field.name(), *std::move(pointer)});
  }
  if (static_cast<size_t>(spec.required_size()) > limits.max_fields) {
    return FieldError("spec.required",
                      absl::StrCat("more than ", limits.max_fields, " pointers"));
  }
  for (int i = 0; i < spec.required_size(); ++i) {
    auto pointer = common::ParseJsonPointer(spec.required(i));
    if (!pointer.ok()) {
      return FieldError(absl::StrCat("spec.required[", i, "]"), pointer.status().message());
    }
    plan.required.push_back(*std::move(pointer));
  }
  if (plan.head && plan.parses_body()) {
    return FieldError("spec.method", "HEAD answers have no body to extract fields from");
  }

  auto policy = ResolvePolicy(spec.policy(), "spec.policy", limits);
  if (!policy.ok()) return policy.status();
  plan.policy = *std::move(policy);
  plan.policy.no_redirects = credential != nullptr;
  return plan;
}

absl::Status ValidateKeyBatch(const v1::KeyBatch& batch, uint64_t index,
                              const config::Limits& limits) {
  if (static_cast<uint64_t>(batch.keys_size()) > limits.max_keys_per_message) {
    return FieldError(absl::StrCat("keys (message ", index + 1, ")"),
                      absl::StrCat(batch.keys_size(), " keys in one message, more than the "
                                   "server's --max_keys_per_message of ",
                                   limits.max_keys_per_message));
  }
  return absl::OkStatus();
}

std::optional<std::string> ExpandKey(const LookupPlan& plan, absl::string_view key,
                                     const config::Limits& limits, std::string& url) {
  if (key.empty()) return std::string("empty key");
  // Each key byte becomes at most 3 URL bytes; refuse before expanding a huge key.
  if (key.size() > limits.max_url_length) {
    return absl::StrCat("key of ", key.size(), " bytes: the URL would be longer than ",
                        limits.max_url_length, " bytes");
  }
  plan.url_template->ExpandInto(key, url);
  if (url.size() > limits.max_url_length) {
    return absl::StrCat("URL of ", url.size(), " bytes is longer than ", limits.max_url_length,
                        " bytes");
  }
  return std::nullopt;
}

}  // namespace gather::rpc
