#pragma once

// One HTTP exchange over libcurl, for the registry client. Requests carry their own headers
// (auth is added by the caller); bodies come from a string or a pull callback; response bodies
// go to a string or a push callback (streamed blobs). Redirects are followed, and libcurl does
// not forward a caller-supplied Authorization header to another host (blob redirects to
// object storage carry their own signature).
//
// Connections and DNS results are shared between requests (one curl share, locked), so
// concurrent layer downloads reuse connections to the registry.
//
// Errors: a transport failure is Unavailable with curl's reason ("Could not resolve host",
// "Connection refused", ...) and the URL; HTTP status codes are not errors here.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::distribution {

struct TlsOptions {
  std::string ca_file;    // extra CA bundle for this registry (the system store is always used)
  std::string cert_file;  // client certificate (PEM)
  std::string key_file;   // its key (PEM)
  bool skip_verify = false;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when body_source is empty
  // Pulls the body: fills the buffer, returns bytes written (0 = end). body_size must be set.
  std::function<absl::StatusOr<size_t>(char* buffer, size_t size)> body_source;
  int64_t body_size = -1;
  // Receives the response body when set (only for 2xx answers); otherwise it is collected.
  std::function<absl::Status(absl::string_view)> sink;
  // Called with the status before the first byte reaches `sink` (e.g. to restart a blob whose
  // Range was ignored).
  std::function<absl::Status(long status)> before_sink;
  bool follow_redirects = true;
  long timeout_seconds = 0;  // 0: no overall limit (blobs); stalls are caught by low-speed limits
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string body;                            // when the request had no sink (or a non-2xx)
  std::string effective_url;                   // after redirects
  std::string Header(const std::string& lower_name) const;
};

absl::StatusOr<HttpResponse> Perform(const HttpRequest& request, const TlsOptions& tls);

}  // namespace berth::distribution
