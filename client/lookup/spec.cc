#include "client/lookup/spec.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "client/commands/common.h"
#include "common/json_pointer.h"
#include "common/text_template.h"
#include "common/url_template.h"
#include "nlohmann/json.hpp"

namespace gather::client {
namespace {

std::string DefaultErrorsPath(const std::string& out) {
  if (absl::EndsWith(out, ".csv")) return absl::StrCat(out.substr(0, out.size() - 4), ".errors.csv");
  return absl::StrCat(out, ".errors.csv");
}

}  // namespace

absl::StatusOr<v1::LookupSpec> BuildLookupSpec(const LookupOptions& options,
                                               std::vector<std::string>* field_names) {
  v1::LookupSpec spec;
  if (options.url_template.empty()) return absl::InvalidArgumentError("--template is required");
  if (absl::Status status = common::CheckUrlTemplate(options.url_template); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--template: ", status.message()));
  }
  spec.set_url_template(options.url_template);
  const std::string method = absl::AsciiStrToUpper(options.method);
  if (!(method.empty() || method == "GET" || method == "HEAD" || method == "POST" ||
        method == "PUT" || method == "PATCH" || method == "DELETE")) {
    return absl::InvalidArgumentError(
        absl::StrCat("--method: \"", options.method, "\" is not GET, HEAD, POST, PUT, PATCH or DELETE"));
  }
  spec.set_method(method);
  if (!options.body.empty()) {
    std::string body = options.body;
    if (body.front() == '@') {
      std::ifstream file(body.substr(1), std::ios::binary);
      if (!file) return absl::InvalidArgumentError(absl::StrCat("--body: cannot read ", body.substr(1)));
      body.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    }
    if (method.empty() || method == "GET" || method == "HEAD") {
      return absl::InvalidArgumentError("--body needs --method POST, PUT, PATCH or DELETE");
    }
    spec.set_body(std::move(body));
  }
  if (common::TextTemplate::Parse(options.url_template).names().empty() &&
      common::TextTemplate::Parse(spec.body()).names().empty()) {
    return absl::InvalidArgumentError(
        "--template: no placeholder such as {key} in the URL (or in --body)");
  }
  for (const std::string& text : options.fields) {
    auto field = ParseFieldFlag(text, *field_names);
    if (!field.ok()) return field.status();
    if (field->name() == "seq" || field->name() == "key") {
      return absl::InvalidArgumentError(absl::StrCat(
          "--field ", field->name(), ": the name is taken by the output's own column"));
    }
    field_names->push_back(field->name());
    *spec.add_fields() = *std::move(field);
  }
  for (const std::string& pointer : options.required) {
    if (absl::Status status = CheckRequireFlag(pointer); !status.ok()) return status;
    spec.add_required(pointer);
  }
  for (const std::string& text : options.headers) {
    auto header = ParseHeaderFlag(text);
    if (!header.ok()) return header.status();
    *spec.add_headers() = *std::move(header);
  }
  bool json_body = !spec.body().empty();
  for (const v1::Header& header : spec.headers()) {
    if (absl::EqualsIgnoreCase(header.name(), "content-type")) {
      std::string media = absl::AsciiStrToLower(header.value().substr(0, header.value().find(';')));
      media = std::string(absl::StripAsciiWhitespace(media));
      json_body = json_body && (media == "application/json" || absl::EndsWith(media, "+json"));
    }
  }
  if (json_body &&
      !nlohmann::json::accept(common::TextTemplate::Parse(spec.body()).ExpandWith("0"))) {
    return absl::InvalidArgumentError(
        "--body: not JSON for any row (checked with 0 in every placeholder): look for unbalanced "
        "braces or quotes; values go in JSON-escaped without quotes (\"q\": \"{keyword}\")");
  }
  spec.mutable_policy()->set_idempotent(options.idempotent);
  auto paging = BuildPagingFlags(options.pages);
  if (!paging.ok()) return paging.status();
  if (*paging) *spec.mutable_paging() = **paging;
  if (spec.has_paging()) {
    for (const std::string& name : *field_names) {
      if (name == "page" || name == "item") {
        return absl::InvalidArgumentError(absl::StrCat(
            "--field ", name, ": the name is taken by the output's own column with pages"));
      }
    }
  }
  spec.set_credential(options.credential);
  if (options.timeout_seconds < 0) return absl::InvalidArgumentError("--timeout must be >= 0");
  if (options.deadline_seconds < 0) return absl::InvalidArgumentError("--deadline must be >= 0");
  spec.mutable_policy()->set_concurrency(options.concurrency);
  spec.mutable_policy()->set_timeout_seconds(options.timeout_seconds);
  spec.mutable_policy()->set_max_body_bytes(options.max_body_bytes);
  if (options.rate == "auto") {
    spec.mutable_policy()->set_rate_auto(true);
  } else if (!options.rate.empty()) {
    double rate = 0;
    if (!absl::SimpleAtod(options.rate, &rate) || !(rate >= 0) || std::isinf(rate)) {
      return absl::InvalidArgumentError("--rate must be a number of requests per second or auto");
    }
    spec.mutable_policy()->set_rate(rate);
  }
  if (options.burst > 0 && options.rate.empty()) {
    return absl::InvalidArgumentError("--burst needs --rate");
  }
  spec.mutable_policy()->set_burst(options.burst);
  spec.mutable_policy()->set_max_attempts(options.max_attempts);
  spec.mutable_policy()->set_no_coalescing(options.no_coalesce);
  if (options.hedge == "auto") {
    spec.mutable_policy()->set_hedge_auto(true);
  } else if (!options.hedge.empty()) {
    double ms = 0;
    if (!absl::SimpleAtod(options.hedge, &ms) || !(ms > 0) || std::isinf(ms)) {
      return absl::InvalidArgumentError("--hedge must be a delay in milliseconds or auto");
    }
    spec.mutable_policy()->set_hedge_after_ms(ms);
  }
  return spec;
}

std::vector<std::string> PlaceholderNames(const v1::LookupSpec& spec) {
  std::vector<std::string> names;
  auto add = [&names](absl::string_view text) {
    const common::TextTemplate tmpl = common::TextTemplate::Parse(text);
    for (const std::string& name : tmpl.names()) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  };
  add(spec.url_template());
  add(spec.body());
  for (const v1::Header& header : spec.headers()) add(header.value());
  return names;
}

absl::StatusOr<KeysInput> ResolveKeysInput(const LookupOptions& options,
                                           const std::vector<std::string>& names) {
  KeysInput input;
  input.path = options.keys;
  if (!options.key_column.empty()) input.key_column = options.key_column;
  if (!options.keys_format.empty()) {
    auto format = ParseKeysFormat(options.keys_format);
    if (!format.ok()) return format.status();
    input.format = *format;
    if (input.key_column && input.format != KeysFormat::kCsv) {
      return absl::InvalidArgumentError("--key-column reads CSV: drop --keys-format or use csv");
    }
    return input;
  }
  if (input.key_column) {
    input.format = KeysFormat::kCsv;
    return input;
  }
  bool named = std::any_of(names.begin(), names.end(),
                           [](const std::string& name) { return name != "key"; });
  if (named) input.format = KeysFormatOfPath(options.keys);
  return input;
}

absl::Status CheckPlaceholders(const KeysInput& input, const std::vector<std::string>& header,
                               const std::vector<std::string>& names) {
  if (input.rows() && input.format == KeysFormat::kJsonl) return absl::OkStatus();
  for (const std::string& name : names) {
    if (!input.rows()) {
      if (name == "key") continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "{", name, "} names no column: plain keys fill only {key} (give --keys a CSV, TSV or "
          "JSONL file with that column, or --keys-format)"));
    }
    if (std::find(header.begin(), header.end(), name) == header.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "{", name, "} names no column of ", input.path, " (columns: ",
          absl::StrJoin(header, ", "), ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<OutputPlan> ResolveOutputs(const LookupOptions& options) {
  OutputPlan plan;
  std::string format = absl::AsciiStrToLower(options.format);
  if (format.empty()) format = absl::EndsWith(options.out, ".csv") ? "csv" : "jsonl";
  if (format == "jsonl") {
    plan.format = OutputFormat::kJsonl;
  } else if (format == "csv") {
    plan.format = OutputFormat::kCsv;
  } else {
    return absl::InvalidArgumentError("--format must be jsonl or csv");
  }
  plan.out = options.out.empty() ? "-" : options.out;
  plan.errors = options.errors;
  if (plan.errors.empty() && plan.format == OutputFormat::kCsv && plan.out != "-") {
    plan.errors = DefaultErrorsPath(plan.out);
  }
  if (!plan.errors.empty() && plan.errors == plan.out) {
    return absl::InvalidArgumentError("--errors must differ from --out");
  }
  if (options.resume && plan.out == "-") {
    return absl::InvalidArgumentError("--resume needs --out FILE (it reads what is already there)");
  }
  if (options.resume && plan.errors == "-") {
    return absl::InvalidArgumentError("--resume needs --errors to be a file");
  }
  return plan;
}

}  // namespace gather::client
