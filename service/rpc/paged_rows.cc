#include "service/rpc/paged_rows.h"

#include <string>
#include <utility>

#include "service/rpc/status_convert.h"
#include "simdjson.h"

namespace gather::rpc {

KeyPages::Step ReadPageAnswer(KeyPages& pages, fetch::FetchResult& result, int follow_redirects,
                              const std::vector<extract::FieldSpec>& fields,
                              const std::vector<extract::JsonPointer>& required) {
  thread_local simdjson::ondemand::parser parser;  // one per engine thread, reused
  std::string error;
  v1::JobStatus status = JobStatusOf(result, follow_redirects, &error);
  return pages.OnPage(result, status, std::move(error), parser, fields, required);
}

}  // namespace gather::rpc
