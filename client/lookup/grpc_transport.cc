#include "client/lookup/grpc_transport.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "gather/v1/gather.grpc.pb.h"

namespace gather::client {
namespace {

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

// Owns one call: its stub, its context and the stream (destroyed before the context).
class GrpcBatchLookupStream : public BatchLookupStream {
 public:
  GrpcBatchLookupStream(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
                        absl::Time deadline)
      : stub_(v1::Gather::NewStub(channel)) {
    if (!token.empty()) context_.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    if (deadline != absl::InfiniteFuture()) context_.set_deadline(absl::ToChronoTime(deadline));
    stream_ = stub_->BatchLookup(&context_);
  }

  bool Write(const v1::BatchLookupRequest& request) override { return stream_->Write(request); }
  bool WritesDone() override { return stream_->WritesDone(); }
  bool Read(v1::BatchLookupResponse* response) override { return stream_->Read(response); }
  absl::Status Finish() override { return FromGrpc(stream_->Finish()); }
  void Cancel() override { context_.TryCancel(); }

 private:
  std::unique_ptr<v1::Gather::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::BatchLookupRequest, v1::BatchLookupResponse>>
      stream_;
};

}  // namespace

absl::Status GrpcLookupTransport::Connect(const std::vector<ResolvedServer>& servers) {
  for (const ResolvedServer& server : servers) {
    if (auto channel = ChannelFor(server); !channel.ok()) return channel.status();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!connections_.empty()) token_ = connections_.begin()->second.token;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BatchLookupStream>> GrpcLookupTransport::Open(
    const ResolvedServer& server, absl::Time deadline) {
  auto channel = ChannelFor(server);
  if (!channel.ok()) return channel.status();
  return std::make_unique<GrpcBatchLookupStream>(*channel, token_, deadline);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> GrpcLookupTransport::ChannelFor(
    const ResolvedServer& server) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = connections_.find(server.address);
  if (it != connections_.end()) return it->second.channel;
  ConnectionOptions connection_options = options_;
  connection_options.server = server.address;
  // A resolved dns:/// address is an IP: TLS must still expect the name.
  if (connection_options.server_name.empty()) connection_options.server_name = server.dns_name;
  auto connection = gather::client::Connect(connection_options);
  if (!connection.ok()) return connection.status();
  auto channel = connection->channel;
  connections_.emplace(server.address, *std::move(connection));
  return channel;
}

}  // namespace gather::client
