// How `gather lookup` writes one result: a JSON line, or a CSV row (OK rows to --out, the others
// to --errors). Pure functions appending to a buffer; field values are copied as the server sent
// them (JSON text), never re-encoded through a JSON library.
#ifndef GATHER_CLIENT_LOOKUP_ROW_FORMAT_H_
#define GATHER_CLIENT_LOOKUP_ROW_FORMAT_H_

#include <string>
#include <vector>

#include "gather/v1/gather.pb.h"

namespace gather::client {

enum class OutputFormat { kJsonl, kCsv };

// How a result's key is written. Plain keys are strings ("key" in CSV). Rows (their key is the
// row as a JSON object of strings, client/lookup/key_source.h) are that object in JSONL, and in
// CSV one column per entry of `columns` (the input's columns) in place of "key".
// With `paged` (gather lookup --items or a next-page flag), CSV has "page" and "item" columns
// after the key's.
struct KeyLayout {
  bool rows = false;
  std::vector<std::string> columns;
  bool paged = false;
};

// {"seq":41,"key":"42","status":"OK","http_status":200,"fields":{"NAME":<json>|null,...},
//  "attempts":1,"latency_ms":3.1,"queue_ms":0.2} and, for a key that did not end OK, no
// "fields" and an "error" member. Ends with '\n'. With rows, "key" is the row's object. Rows of
// a paged call have "page" (and "item", "more":true on all of a key's rows but its last, and
// "pages_cut":true on the last row of a key cut by --max-pages) after "seq".
void AppendJsonlRow(const v1::LookupResult& row, const std::vector<std::string>& field_names,
                    std::string& out, const KeyLayout& layout = {});

// "seq,key,NAME,..." with '\n' (rows: "seq,COLUMN,...,NAME,...").
void AppendCsvHeader(const std::vector<std::string>& field_names, std::string& out,
                     const KeyLayout& layout = {});
// seq,key,values... (strings decoded, null and absent empty, objects as JSON text); rows: the
// row's values of layout.columns (absent: empty) in place of the key.
void AppendCsvRow(const v1::LookupResult& row, size_t field_count, std::string& out,
                  const KeyLayout& layout = {});

// The --errors CSV: "seq,key,status,http_status,attempts,error".
void AppendCsvErrorHeader(std::string& out);
void AppendCsvErrorRow(const v1::LookupResult& row, std::string& out);

}  // namespace gather::client

#endif  // GATHER_CLIENT_LOOKUP_ROW_FORMAT_H_
