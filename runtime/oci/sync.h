#pragma once

// The setup protocol between the runtime (parent) and the container's init (child) over a
// SOCK_SEQPACKET socketpair; each message is one packet: a type byte plus a payload.
//
//   parent -> child   kGo        ids mapped, cgroups joined: continue
//                     kHooksDone prestart/createRuntime hooks ran; payload: state JSON
//                     kStart     exec now (Run only; Start() uses start.sock the same way)
//   child -> parent   kHooks     ready for prestart/createRuntime hooks (before pivot_root)
//                     kReady     set up, waiting for start
//                     kError     payload: the message; the child exits
//
// After kStart the child execs; its end is close-on-exec, so EOF means the exec succeeded.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::oci::sync {

enum Type : char {
  kGo = 'G',
  kHooksDone = 'h',
  kStart = 'S',
  kHooks = 'H',
  kReady = 'R',
  kError = 'E',
  kPid = 'P',  // exec's intermediate -> parent: the exec'd process's host pid
};

struct Message {
  char type = 0;  // 0: the peer closed the socket.
  std::string payload;
};

absl::Status Send(int fd, char type, absl::string_view payload = {});
absl::StatusOr<Message> Receive(int fd);

// Receives one message and checks that it is `expected`; kError becomes an error status
// carrying the child's message, EOF becomes kInternal with `eof_message`.
absl::StatusOr<std::string> Expect(int fd, char expected, absl::string_view eof_message);

}  // namespace berth::oci::sync
