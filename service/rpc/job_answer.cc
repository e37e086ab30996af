#include "service/rpc/job_answer.h"

#include <utility>

#include "service/extract/fields.h"
#include "service/extract/json_pointer.h"
#include "service/extract/score.h"
#include "service/rpc/status_convert.h"

namespace gather::rpc {

JobAnswer ReadJobAnswer(const RankPlan& plan, fetch::FetchResult& result, int follow_redirects,
                        simdjson::ondemand::parser& parser) {
  JobAnswer answer;
  answer.status = JobStatusOf(result, follow_redirects, &answer.error);
  if (answer.status != v1::JOB_STATUS_OK) return answer;
  if (!plan.fields.empty() || !plan.required.empty()) {
    extract::ExtractOutcome extracted;
    extract::ExtractFields(parser, extract::PadForParse(result.body), plan.fields, plan.required,
                           extracted);
    switch (extracted.status) {
      case extract::ExtractStatus::kOk: break;
      case extract::ExtractStatus::kMissing: answer.status = v1::JOB_STATUS_MISSING; break;
      case extract::ExtractStatus::kBadContent: answer.status = v1::JOB_STATUS_BAD_CONTENT; break;
    }
    if (answer.status != v1::JOB_STATUS_OK) {
      answer.error = std::move(extracted.error);
      return answer;
    }
    answer.values = std::move(extracted.values);
  }
  if (plan.score) {
    extract::ScoreOutcome outcome =
        extract::ScoreJson(parser, extract::PadForParse(result.body), *plan.score);
    switch (outcome.status) {
      case extract::ScoreStatus::kOk: answer.score = outcome.score; break;
      case extract::ScoreStatus::kMissing: answer.status = v1::JOB_STATUS_MISSING; break;
      case extract::ScoreStatus::kBadContent: answer.status = v1::JOB_STATUS_BAD_CONTENT; break;
    }
    if (answer.status != v1::JOB_STATUS_OK) {
      answer.values.clear();
      answer.error = std::move(outcome.error);
    }
  }
  return answer;
}

}  // namespace gather::rpc
