#include "service/rpc/lookup_request.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/url_template.h"
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
  if (absl::Status status = common::CheckUrlTemplate(spec.url_template()); !status.ok()) {
    return FieldError("spec.url_template", status.message());
  }
  plan.url = common::TextTemplate::Parse(spec.url_template());
  // The URL as libcurl reads it, with a value in every placeholder.
  if (absl::Status status = extract::ValidateHttpUrl(plan.url.ExpandWith("k")); !status.ok()) {
    return FieldError("spec.url_template", absl::StrCat("template: ", status.message()));
  }
  plan.host = common::HostOf(plan.url.ExpandWith("k"));

  auto method = ParseMethod(spec.method(), "spec.method");
  if (!method.ok()) return method.status();
  plan.method = *method;

  if (absl::Status status = ValidateHeaders(spec.headers(), "spec.headers", limits);
      !status.ok()) {
    return status;
  }
  HeaderList headers;
  bool has_content_type = false;
  for (const v1::Header& header : spec.headers()) {
    has_content_type |= absl::EqualsIgnoreCase(header.name(), "content-type");
    headers.emplace_back(header.name(), header.value());
  }
  if (!spec.body().empty()) {
    if (plan.method == fetch::Method::kGet || plan.method == fetch::Method::kHead) {
      return FieldError("spec.body", absl::StrCat(fetch::MethodName(plan.method),
                                                  " requests have no body (set spec.method)"));
    }
    if (spec.body().size() > limits.max_request_body_bytes) {
      return FieldError("spec.body", absl::StrCat("longer than the server's ",
                                                  limits.max_request_body_bytes, " bytes"));
    }
    if (!has_content_type) headers.emplace_back("Content-Type", "application/json");
    plan.body = common::TextTemplate::Parse(spec.body());
    std::string content_type;
    for (const auto& [name, value] : headers) {
      if (absl::EqualsIgnoreCase(name, "content-type")) content_type = absl::AsciiStrToLower(value);
    }
    absl::string_view media = absl::StripAsciiWhitespace(
        absl::string_view(content_type).substr(0, content_type.find(';')));
    if (media == "application/json" || absl::EndsWith(media, "+json")) {
      plan.body_escape = common::Escape::kJson;
      plan.body_is_json = true;
      if (!extract::IsValidJson(plan.body->ExpandWith("0"))) {
        return FieldError("spec.body", "not valid JSON for any row (checked with 0 in every "
                                       "placeholder): look for unbalanced braces or quotes");
      }
    } else if (media == "application/x-www-form-urlencoded") {
      plan.body_escape = common::Escape::kPercent;
    }
  }
  if (plan.url.names().empty() && (!plan.body || plan.body->names().empty())) {
    return FieldError("spec.url_template",
                      absl::StrCat("template \"", spec.url_template(),
                                   "\" has no placeholder (such as {key}) and neither has spec.body"));
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
  for (auto& [name, value] : headers) {
    common::TextTemplate tmpl = common::TextTemplate::Parse(value);
    if (tmpl.names().empty()) {
      plan.fixed_headers.emplace_back(name, value);
    } else {
      plan.header_templates.push_back(HeaderTemplate{name, std::move(tmpl)});
    }
  }
  if (plan.header_templates.empty() && !plan.fixed_headers.empty()) {
    plan.headers = std::make_shared<fetch::HeaderSet>(plan.fixed_headers);
  }

  auto extraction = ParseExtraction(spec.fields(), spec.required(), "spec.", limits);
  if (!extraction.ok()) return extraction.status();
  plan.fields = std::move(extraction->fields);
  plan.required = std::move(extraction->required);
  if (plan.head() && plan.parses_body()) {
    return FieldError("spec.method", "HEAD answers have no body to extract fields from");
  }

  auto policy = ResolvePolicy(spec.policy(), "spec.policy", limits);
  if (!policy.ok()) return policy.status();
  plan.policy = *std::move(policy);
  plan.policy.no_redirects = credential != nullptr;

  auto paging = BuildPagingPlan(spec.paging(), "spec.paging");
  if (!paging.ok()) return paging.status();
  plan.paging = *std::move(paging);
  if (plan.paging) {
    if (plan.head()) return FieldError("spec.method", "HEAD answers have no pages to follow");
    plan.paging->keep_headers_across_origins =
        plan.policy.redirect_keeps_headers && credential == nullptr;
  }
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

absl::StatusOr<fetch::FetchRequest> RequestForKey(const LookupPlan& plan, const v1::Key& key,
                                                  const config::Limits& limits) {
  const bool plain = key.columns().empty();
  if (plain && key.key().empty()) return absl::InvalidArgumentError("empty key");
  // Each value byte becomes at most 6 bytes of URL or body; refuse before expanding a huge one.
  const size_t bound = plan.body ? std::max(limits.max_url_length, limits.max_request_body_bytes)
                                 : limits.max_url_length;
  if (plain ? key.key().size() > bound : false) {
    return absl::InvalidArgumentError(absl::StrCat("key of ", key.key().size(),
                                                   " bytes: the request would be longer than ",
                                                   bound, " bytes"));
  }
  for (const v1::Column& column : key.columns()) {
    if (column.value().size() > bound) {
      return absl::InvalidArgumentError(
          absl::StrCat("column \"", column.name(), "\" of ", column.value().size(),
                       " bytes: the request would be longer than ", bound, " bytes"));
    }
  }
  auto lookup = [&key, plain](absl::string_view name) -> const std::string* {
    if (plain) return name == "key" ? &key.key() : nullptr;
    for (const v1::Column& column : key.columns()) {
      if (column.name() == name) return &column.value();
    }
    return nullptr;
  };
  fetch::FetchRequest request;
  if (absl::Status status = plan.url.ExpandInto(lookup, common::Escape::kPercent, request.url);
      !status.ok()) {
    return status;
  }
  if (request.url.size() > limits.max_url_length) {
    return absl::InvalidArgumentError(absl::StrCat("URL of ", request.url.size(),
                                                   " bytes is longer than ",
                                                   limits.max_url_length, " bytes"));
  }
  if (plan.body) {
    if (absl::Status status = plan.body->ExpandInto(lookup, plan.body_escape, request.body);
        !status.ok()) {
      return status;
    }
    if (request.body.size() > limits.max_request_body_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("body of ", request.body.size(), " bytes is longer than the server's ",
                       limits.max_request_body_bytes, " bytes"));
    }
    if (plan.body_is_json && !extract::IsValidJson(request.body)) {
      return absl::InvalidArgumentError(
          "the body with this key's values is not valid JSON (a value where a number or literal "
          "was expected?); nothing was sent");
    }
  }
  if (plan.header_templates.empty()) {
    request.headers = plan.headers;
  } else {
    std::vector<std::pair<std::string, std::string>> headers = plan.fixed_headers;
    std::string value;
    for (const HeaderTemplate& header : plan.header_templates) {
      if (absl::Status status = header.value.ExpandInto(lookup, common::Escape::kNone, value);
          !status.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("header ", header.name, ": ", status.message()));
      }
      headers.emplace_back(header.name, value);
    }
    request.headers = std::make_shared<const fetch::HeaderSet>(headers);
  }
  request.host = plan.host;
  request.method = plan.method;
  ApplyPolicy(plan.policy, request);
  return request;
}

}  // namespace gather::rpc
