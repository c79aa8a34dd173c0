#pragma once

// berth.services.pull.v1.Transfer: registry Pull and Push in the daemon with streamed
// progress, and Login (a credentials check). Plugin io.containerd.grpc.v1.transfer; its config:
//
//   [plugins."io.containerd.grpc.v1.transfer"]
//     max_concurrent_downloads = 3       # parallel blob downloads per pull
//     push_chunk_size = 67108864          # larger blobs are pushed in PATCH chunks
//     [plugins."io.containerd.grpc.v1.transfer".registry.mirrors."docker.io"]
//       endpoints = ["http://127.0.0.1:5001"]
//     [plugins."io.containerd.grpc.v1.transfer".registry.configs."host:port"]
//       plain_http = false
//       tls = { ca_file = "", cert_file = "", key_file = "", insecure_skip_verify = false }
//       auth = { username = "", password = "" }

#include "plugins/registry.h"

namespace berth::services {

void RegisterTransferService(plugins::Registry& registry);

}  // namespace berth::services
