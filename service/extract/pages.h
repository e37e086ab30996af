// Reading one page of a paged answer: where the next page is (a URL or a cursor in the body, or
// the Link header), and the page's rows (the page itself, or each element of an array in it) with
// their fields. Pure: no I/O, no state between pages (service/rpc/key_pages.h keeps that).
#ifndef GATHER_SERVICE_EXTRACT_PAGES_H_
#define GATHER_SERVICE_EXTRACT_PAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "service/extract/fields.h"
#include "service/extract/json_pointer.h"
#include "simdjson.h"

namespace gather::extract {

// The target of the first link whose rel holds "next" (case-insensitive) in a Link header value
// (RFC 8288: `<uri>; rel="next", <uri>; rel="last"`), as written (it may be relative). nullopt
// when there is none or the value is malformed before one was found.
std::optional<std::string> NextLinkTarget(absl::string_view header);

struct PageSpec {
  enum class Next { kNone, kLinkHeader, kUrlPointer, kTokenPointer };
  Next next = Next::kNone;
  JsonPointer next_pointer;          // kUrlPointer, kTokenPointer
  std::optional<JsonPointer> items;  // each element a row; unset: the page is the row
};

struct PageRow {
  std::optional<uint32_t> item;     // the element's index in the array (items only)
  std::vector<std::string> values;  // one per field, JSON text or "" when absent
};

struct PageOutcome {
  // kOk, or kBadContent with `error` (not JSON, no array at the items pointer, a next URL or
  // cursor that is not a string or number).
  ExtractStatus status = ExtractStatus::kBadContent;
  std::string error;
  std::vector<PageRow> rows;
  uint64_t filtered = 0;  // rows left out: they lacked a required pointer
  // The next page's URL (kUrlPointer, as written) or cursor (kTokenPointer: a string's value, or
  // a number's JSON text); unset on the last page. kNone and kLinkHeader leave it unset (the
  // caller reads the header).
  std::optional<std::string> next;
};

// Reads `body` (a 2xx answer) as one page. Fields and required pointers apply to each row (the
// page, or each element of the items array); a row that lacks a required pointer is left out and
// counted. `out` is reused across calls.
void ReadPage(simdjson::ondemand::parser& parser, std::string& body, const PageSpec& spec,
              const std::vector<FieldSpec>& fields, const std::vector<JsonPointer>& required,
              PageOutcome& out);

}  // namespace gather::extract

#endif  // GATHER_SERVICE_EXTRACT_PAGES_H_
