#include "client/lookup/spec.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/commands/common.h"
#include "common/json_pointer.h"
#include "common/url_template.h"

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
  if (auto parsed = common::UrlTemplate::ParseSyntax(options.url_template); !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--template: ", parsed.status().message()));
  }
  spec.set_url_template(options.url_template);
  spec.set_method(absl::AsciiStrToUpper(options.method));
  for (const std::string& text : options.fields) {
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
    for (const std::string& existing : *field_names) {
      if (existing == name) {
        return absl::InvalidArgumentError(absl::StrCat("--field ", name, ": given twice"));
      }
    }
    if (name == "seq" || name == "key") {
      return absl::InvalidArgumentError(
          absl::StrCat("--field ", name, ": the name is taken by the output's own column"));
    }
    v1::Field* field = spec.add_fields();
    field->set_name(name);
    field->set_pointer(pointer);
    field_names->push_back(std::move(name));
  }
  for (const std::string& pointer : options.required) {
    if (auto parsed = common::ParseJsonPointer(pointer); !parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--require \"", pointer, "\": ", parsed.status().message()));
    }
    spec.add_required(pointer);
  }
  for (const std::string& text : options.headers) {
    auto header = ParseHeaderFlag(text);
    if (!header.ok()) return header.status();
    *spec.add_headers() = *std::move(header);
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
