#include "service/rpc/discovery.h"

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "service/extract/json_pointer.h"
#include "simdjson.h"

namespace gather::rpc {
namespace {

// One parser per thread that reads indexes (an engine loop thread); reused across documents.
simdjson::ondemand::parser& ThreadParser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

absl::Status KeysError(absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat("discovery.keys_pointer: ", why));
}

constexpr absl::string_view kNotJson = "the index is not JSON";

}  // namespace

absl::StatusOr<std::vector<std::string>> ParseIndexKeys(std::string& body,
                                                        absl::string_view keys_pointer,
                                                        uint64_t max_keys) {
  std::vector<std::string> keys;
  auto add_key = [&](std::string_view key) {
    if (keys.size() < max_keys) keys.emplace_back(key);
  };
  simdjson::ondemand::document doc;
  simdjson::ondemand::value value;
  if (ThreadParser().iterate(extract::PadForParse(body)).get(doc)) return KeysError(kNotJson);
  if (auto e = doc.at_pointer(std::string_view(keys_pointer.data(), keys_pointer.size()))
                   .get(value);
      e) {
    return KeysError(absl::StrCat("no keys at \"", keys_pointer, "\" in the index (",
                                  simdjson::error_message(e), ")"));
  }
  simdjson::ondemand::json_type type;
  if (value.type().get(type)) return KeysError(kNotJson);
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object object;
    if (value.get_object().get(object)) return KeysError(kNotJson);
    for (auto field : object) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return KeysError(kNotJson);
      add_key(key);
    }
    return keys;
  }
  if (type == simdjson::ondemand::json_type::array) {
    simdjson::ondemand::array array;
    if (value.get_array().get(array)) return KeysError(kNotJson);
    for (auto element : array) {
      simdjson::ondemand::value item;
      simdjson::ondemand::json_type item_type;
      if (element.get(item) || item.type().get(item_type)) return KeysError(kNotJson);
      if (item_type == simdjson::ondemand::json_type::string) {
        std::string_view key;
        if (item.get_string().get(key)) return KeysError(kNotJson);
        add_key(key);
      } else if (item_type == simdjson::ondemand::json_type::number) {
        std::string_view raw = item.raw_json_token();
        while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' ||
                                raw.back() == '\t')) {
          raw.remove_suffix(1);
        }
        add_key(raw);
      } else {
        return KeysError("an element of the keys array is not a string or a number");
      }
    }
    return keys;
  }
  return KeysError(
      absl::StrCat("\"", keys_pointer, "\" is neither an object nor an array in the index"));
}

std::vector<RankJob> JobsFromKeys(const RankPlan& plan, std::vector<std::string> keys) {
  std::vector<RankJob> jobs;
  jobs.reserve(keys.size());
  for (std::string& key : keys) {
    RankJob job;
    job.url = plan.url_template->Expand(key);
    job.id = std::move(key);
    job.headers = plan.common_header_set;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

std::string InvalidJobReason(const RankJob& job, uint64_t max_url_length) {
  if (job.id.empty()) return "empty key";
  if (job.url.size() > max_url_length) return absl::StrCat("URL longer than ", max_url_length, " bytes");
  return "";
}

}  // namespace gather::rpc
