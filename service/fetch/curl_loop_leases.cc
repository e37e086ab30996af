// CurlLoop's link to the rate store: lease replies come back on the store's thread and are
// posted to the loop's inbox (Command::Kind::kLease), unless the loop is gone.
#include <memory>
#include <string>
#include <utility>

#include "service/fetch/curl_loop.h"

namespace gather::fetch {

SchedulerOptions CurlLoop::WithLeaseReplies(SchedulerOptions options,
                                           const std::shared_ptr<LeaseTarget>& target) {
  options.post_lease = [target](const std::string& host, const ratestore::LeaseReply& reply) {
    std::lock_guard<std::mutex> lock(target->mu);
    if (target->loop == nullptr) return;
    Command command(Command::Kind::kLease);
    command.request.host = host;
    command.lease = reply;
    target->loop->Post({std::move(command)});
  };
  return options;
}

}  // namespace gather::fetch
