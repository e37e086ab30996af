// What one FetchAndRank job's answer gives: its final status, its score and its extracted values.
// Pure; the reactor calls it on an engine thread with that thread's parser.
#ifndef GATHER_SERVICE_RPC_JOB_ANSWER_H_
#define GATHER_SERVICE_RPC_JOB_ANSWER_H_

#include <optional>
#include <string>
#include <vector>

#include "gather/v1/gather.pb.h"
#include "service/fetch/fetch_types.h"
#include "service/rpc/rank_request.h"
#include "simdjson.h"

namespace gather::rpc {

struct JobAnswer {
  v1::JobStatus status = v1::JOB_STATUS_UNSPECIFIED;
  std::string error;
  std::optional<double> score;      // when the plan scores and the job ended OK
  std::vector<std::string> values;  // one per plan field when the job ended OK, else empty
};

// A 2xx answer is scored (when the plan has a score) and its fields extracted (when it has
// fields or required pointers): a value or required pointer missing gives MISSING, a body that
// is not JSON BAD_CONTENT. Other answers keep the status JobStatusOf gives them.
JobAnswer ReadJobAnswer(const RankPlan& plan, fetch::FetchResult& result, int follow_redirects,
                        simdjson::ondemand::parser& parser);

}  // namespace gather::rpc

#endif  // GATHER_SERVICE_RPC_JOB_ANSWER_H_
