#include "services/distribution/http.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "plugins/base/status_macros.h"
#include "plugins/base/status_util.h"

namespace berth::distribution {
namespace {

// The process-wide share of connections and DNS answers, with one mutex per data kind.
class Share {
 public:
  static Share& Get() {
    static Share* share = new Share();  // never destroyed: requests may run during exit
    return *share;
  }
  CURLSH* handle() { return handle_; }

 private:
  Share() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    handle_ = curl_share_init();
    curl_share_setopt(handle_, CURLSHOPT_LOCKFUNC, &Lock);
    curl_share_setopt(handle_, CURLSHOPT_UNLOCKFUNC, &Unlock);
    curl_share_setopt(handle_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(handle_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(handle_, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
  }
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
    static_cast<Share*>(self)->mu_[data % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* self) {
    static_cast<Share*>(self)->mu_[data % kLocks].unlock();
  }
  static constexpr int kLocks = 8;
  std::mutex mu_[kLocks];
  CURLSH* handle_;
};

struct Exchange {
  const HttpRequest* request;
  HttpResponse* response;
  CURL* curl;
  absl::Status sink_status;
  bool sink_started = false;
  int64_t sent = 0;
  absl::Status source_status;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  absl::string_view line(data, size * count);
  if (absl::StartsWith(line, "HTTP/")) exchange->response->headers.clear();  // next hop
  size_t colon = line.find(':');
  if (colon != absl::string_view::npos) {
    std::string name = absl::AsciiStrToLower(line.substr(0, colon));
    exchange->response->headers[name] =
        std::string(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  long status = 0;
  curl_easy_getinfo(exchange->curl, CURLINFO_RESPONSE_CODE, &status);
  absl::string_view bytes(data, size * count);
  if (exchange->request->sink && status >= 200 && status < 300) {
    if (!exchange->sink_started) {
      exchange->sink_started = true;
      if (exchange->request->before_sink) {
        exchange->sink_status = exchange->request->before_sink(status);
        if (!exchange->sink_status.ok()) return 0;
      }
    }
    exchange->sink_status = exchange->request->sink(bytes);
    if (!exchange->sink_status.ok()) return 0;  // aborts the transfer
  } else {
    exchange->response->body.append(bytes.data(), bytes.size());
    if (exchange->response->body.size() > (16u << 20)) return 0;  // an error page, not a blob
  }
  return size * count;
}

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  absl::StatusOr<size_t> n = exchange->request->body_source(buffer, size * count);
  if (!n.ok()) {
    exchange->source_status = n.status();
    return CURL_READFUNC_ABORT;
  }
  exchange->sent += static_cast<int64_t>(*n);
  return *n;
}

void SetTls(CURL* curl, const TlsOptions& tls) {
  if (!tls.ca_file.empty()) {
    // Replaces libcurl's bundle file; the system's CA directory (Debian's CAPATH,
    // /etc/ssl/certs) stays trusted, so this adds the registry's CA to the system store.
    curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str());
  }
  if (!tls.cert_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.cert_file.c_str());
  if (!tls.key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.key_file.c_str());
  if (tls.skip_verify) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
}

}  // namespace

std::string HttpResponse::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

absl::StatusOr<HttpResponse> Perform(const HttpRequest& request, const TlsOptions& tls) {
  CURLSH* share = Share::Get().handle();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return absl::InternalError("curl_easy_init failed");
  HttpResponse response;
  Exchange exchange{&request, &response, curl.get()};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_SHARE, share);
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  // a stalled transfer is a broken one
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  if (request.timeout_seconds > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, request.timeout_seconds);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/1");
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &exchange);
  SetTls(c, tls);
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.body_source) {
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(c, CURLOPT_READFUNCTION, &OnRead);
      curl_easy_setopt(c, CURLOPT_READDATA, &exchange);
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.body_size));
    } else {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
    }
  }
  curl_slist* headers = nullptr;
  for (const std::string& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  // No "Expect: 100-continue" round trip on uploads.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode code = curl_easy_perform(c);
  curl_slist_free_all(headers);
  if (!exchange.sink_status.ok()) return exchange.sink_status;
  if (!exchange.source_status.ok()) return exchange.source_status;
  if (code == CURLE_COULDNT_RESOLVE_HOST) {
    return Unavailable(absl::StrCat("unknown host in ", request.url));
  }
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
      code == CURLE_SSL_CERTPROBLEM) {
    // Not a transient failure: retrying or trying elsewhere would not help.
    return FailedPrecondition(absl::StrCat(request.method, " ", request.url, ": ",
                                           curl_easy_strerror(code)));
  }
  if (code != CURLE_OK) {
    return Unavailable(absl::StrCat(request.method, " ", request.url, ": ",
                                    curl_easy_strerror(code)));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response.status);
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective != nullptr) response.effective_url = effective;
  return response;
}

}  // namespace berth::distribution
