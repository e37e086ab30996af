// gatherd's Gather service on a FakeFetchEngine: a real gRPC server on 127.0.0.1 (port 0) and a
// stub, so reactor behaviour (flow control, cancel, drain, deadlines, one result per job) is
// tested without libcurl or upstreams. The test owns the engine's answers.
#ifndef GATHER_TESTS_SUPPORT_REACTOR_HARNESS_H_
#define GATHER_TESTS_SUPPORT_REACTOR_HARNESS_H_

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gather/v1/gather.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "service/rpc/gather_service.h"
#include "service/rpc/service_state.h"
#include "tests/mocks/fake_fetch_engine.h"

namespace gather::testing {

class ReactorHarness {
 public:
  // `configure` may change the service state (limits, max_rpcs) before the server starts.
  template <typename Configure>
  explicit ReactorHarness(Configure configure) {
    state_.engine = &engine_;
    configure(state_);
    Start();
  }
  ReactorHarness() : ReactorHarness([](rpc::ServiceState&) {}) {}
  ~ReactorHarness() {
    server_->Shutdown();
    server_->Wait();
  }

  FakeFetchEngine& engine() { return engine_; }
  rpc::ServiceState& state() { return state_; }
  v1::Gather::Stub& stub() { return *stub_; }
  // A stub on a channel of its own, made with `args` (e.g. to bound the client's receive window).
  std::unique_ptr<v1::Gather::Stub> NewStub(const grpc::ChannelArguments& args) {
    return v1::Gather::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args));
  }

 private:
  void Start() {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::Gather::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                                    grpc::InsecureChannelCredentials()));
  }

  FakeFetchEngine engine_;  // first: outlives the server's reactors
  rpc::ServiceState state_;
  rpc::GatherService service_{&state_};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Gather::Stub> stub_;
};

}  // namespace gather::testing

#endif  // GATHER_TESTS_SUPPORT_REACTOR_HARNESS_H_
