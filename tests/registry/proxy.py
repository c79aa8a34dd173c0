#!/usr/bin/env python3
"""A misbehaving front for a registry in tests, on 127.0.0.1 (port 0 = any; prints
"listening <port>" once ready). Modes:
  token    demands "Authorization: Bearer <token>" on /v2/ and serves the token endpoint
           /token (Basic USER:PASS from --user/--password, else 401)
  cut      the first GET of each blob sends only --cut bytes of the body, then closes
  stall    the first GET of each blob sends --cut bytes, then hangs until the client leaves
  corrupt  flips one byte in every blob body larger than --cut bytes
  fail     answers 503 to everything
Every request is logged to stdout as "REQ <method> <path> range=<Range header>"."""
import argparse, base64, select, socket, http.client, http.server, json, socketserver, sys, threading, time

args = None
seen_blobs = set()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        print("REQ %s %s range=%s" % (self.command, self.path, self.headers.get("Range", "")),
              flush=True)
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else None
        if args.mode == "fail":
            return self.reply(503, b'{"errors":[{"code":"UNAVAILABLE","message":"mirror down"}]}')
        if args.mode == "token":
            if self.path.startswith("/token"):
                want = base64.b64encode(("%s:%s" % (args.user, args.password)).encode()).decode()
                if self.headers.get("Authorization", "") != "Basic " + want:
                    return self.reply(401, b'{"details":"bad credentials"}')
                return self.reply(200, json.dumps({"token": "tok-" + want, "expires_in": 300}).encode(),
                                  [("Content-Type", "application/json")])
            want = "Bearer tok-" + base64.b64encode(("%s:%s" % (args.user, args.password)).encode()).decode()
            if self.headers.get("Authorization", "") != want:
                realm = "http://127.0.0.1:%d/token" % self.server.server_address[1]
                return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                                  [("WWW-Authenticate", 'Bearer realm="%s",service="test-registry"' % realm),
                                   ("Content-Type", "application/json")])
        self.forward(body)

    def forward(self, body):
        conn = http.client.HTTPConnection("127.0.0.1", args.upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host")}
        headers["Host"] = "127.0.0.1:%d" % self.server.server_address[1]
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read() if self.command != "HEAD" else b""
        is_blob = self.command == "GET" and "/blobs/sha256:" in self.path and resp.status in (200, 206)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            if k.lower() == "location" and v.startswith("http://127.0.0.1:%d" % args.upstream):
                v = v.replace(":%d" % args.upstream, ":%d" % self.server.server_address[1], 1)
            self.send_header(k, v)
        if self.command == "HEAD":
            self.send_header("Content-Length", resp.getheader("Content-Length", "0"))
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if is_blob and args.mode == "corrupt" and len(data) > args.cut:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        first = False
        if is_blob and args.mode in ("cut", "stall") and len(data) > args.cut:
            with lock:
                first = self.path not in seen_blobs
                seen_blobs.add(self.path)
        if first:
            self.wfile.write(data[: args.cut])
            self.wfile.flush()
            print("CUT %s after %d" % (self.path, args.cut), flush=True)
            if args.mode == "stall":
                print("STALLED", flush=True)
                while True:
                    readable, _, _ = select.select([self.connection], [], [], 0.2)
                    if readable:
                        try:
                            if self.connection.recv(1, socket.MSG_PEEK) == b"":
                                break
                        except OSError:
                            break
            self.close_connection = True
            return
        self.wfile.write(data)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True)
    p.add_argument("--upstream", type=int, default=0)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cut", type=int, default=300000)
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    args = p.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    print("listening %d" % server.server_address[1], flush=True)
    server.serve_forever()
