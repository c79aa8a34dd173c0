#pragma once

// What a gRPC service plugin (type io.containerd.grpc.v1) gives the server: the service to
// register. The server collects every loaded instance of this type and serves them all on the
// daemon's socket, plus the methods it answers on the front end's fast path (fast_method.h).

#include <vector>

#include "grpcpp/impl/codegen/service_type.h"
#include "services/common/fast_method.h"

namespace berth::services {

class GrpcService {
 public:
  virtual ~GrpcService() = default;
  // Null when every method is a fast one.
  virtual grpc::Service* service() = 0;
  // Methods the front end answers itself; the service's own handlers for them are never called.
  virtual std::vector<FastMethod> fast_methods() { return {}; }
  // Called once before the server stops accepting calls, so long-running streams can end.
  virtual void BeginShutdown() {}
};

}  // namespace berth::services
