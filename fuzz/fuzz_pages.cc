// Fuzzes what a paged answer controls: the Link header (NextLinkTarget), the page body
// (ReadPage: items, fields, the next URL or cursor), and the next request built from them
// (ResolveHttpUrl against the page's URL, WithQueryParameter with the cursor).
//
// Invariants: a Link target is text that stood between '<' and '>' in the header; ReadPage's rows
// have one value per field, items in increasing order; a body that is valid JSON is never "not
// JSON" (when no items pointer is given); a resolved URL and a URL with the cursor pass
// ValidateHttpUrl.
//
// Input: LINK "\n" MODE "\n" BODY. MODE: "u" (next URL at /next), "t" (cursor at /next), "l"
// (Link), optionally followed by an items pointer, e.g. "t/results".
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "fuzz_util.h"
#include "service/extract/http_url.h"
#include "service/extract/json_pointer.h"
#include "service/extract/pages.h"

namespace {

using namespace gather::extract;
using gather::common::ParseJsonPointer;
using gather::fuzz::SplitFirst;

constexpr absl::string_view kBase = "http://127.0.0.1:8080/v1/items?q=a%20b&page=1";

void CheckUrl(absl::string_view url, absl::string_view input) {
  FUZZ_CHECK(ValidateHttpUrl(url).ok(), std::string(input));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  auto [link, rest] = SplitFirst(input, '\n');
  auto [mode, body_text] = SplitFirst(rest, '\n');

  std::optional<std::string> target = NextLinkTarget(link);
  if (target) {
    FUZZ_CHECK(absl::StrContains(link, "<" + *target + ">"), std::string(link));
    if (auto url = ResolveHttpUrl(kBase, *target); url.ok()) CheckUrl(*url, input);
  }

  PageSpec spec;
  if (!mode.empty()) {
    spec.next = mode[0] == 'u'   ? PageSpec::Next::kUrlPointer
                : mode[0] == 't' ? PageSpec::Next::kTokenPointer
                                 : PageSpec::Next::kLinkHeader;
    spec.next_pointer = *ParseJsonPointer("/next");
    if (mode.size() > 1) {
      auto items = ParseJsonPointer(mode.substr(1));
      if (items.ok()) spec.items = *std::move(items);
    }
  }
  std::vector<FieldSpec> fields{{"id", *ParseJsonPointer("/id")}, {"all", *ParseJsonPointer("")}};
  std::vector<JsonPointer> required;
  if (mode.size() > 1 && mode.back() == '!') required.push_back(*ParseJsonPointer("/id"));

  static simdjson::ondemand::parser parser;  // reused, as on an engine thread
  std::string body(body_text);
  PageOutcome out;
  ReadPage(parser, body, spec, fields, required, out);
  if (out.status == ExtractStatus::kOk) {
    int64_t last_item = -1;
    for (const PageRow& row : out.rows) {
      FUZZ_CHECK(row.values.size() == fields.size(), std::string(input));
      FUZZ_CHECK(row.item.has_value() == spec.items.has_value(), std::string(input));
      if (row.item) {
        FUZZ_CHECK(static_cast<int64_t>(*row.item) > last_item, std::string(input));
        last_item = *row.item;
      }
    }
    if (out.next && spec.next == PageSpec::Next::kTokenPointer) {
      if (auto url = WithQueryParameter(kBase, "pagetoken", *out.next); url.ok()) {
        CheckUrl(*url, input);
      }
    }
    if (out.next && spec.next == PageSpec::Next::kUrlPointer) {
      if (auto url = ResolveHttpUrl(kBase, *out.next); url.ok()) CheckUrl(*url, input);
    }
  } else if (!spec.items && IsValidJson(body_text)) {
    FUZZ_CHECK(!absl::StrContains(out.error, "not JSON"), out.error + " | " + std::string(input));
  }
  return 0;
}
