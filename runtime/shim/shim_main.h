#pragma once

// The three ways berth-shim runs (main.cc dispatches on the verb).

#include <string>

#include "plugins/base/unique_fd.h"
#include "runtime/shim/flags.h"

namespace berth::shim {

// `start`: listens on the shim socket, forks the server into a new session, prints the
// socket's address and returns the exit code.
int RunStart(const Flags& flags);

// `delete`: force-cleans the container of a dead shim and prints a DeleteResponse.
int RunDelete(const Flags& flags);

// Points fd 2 at the bundle's log FIFO if the daemon holds it open (else leaves it).
void RedirectStderrToLog(const std::string& bundle);

// The server: serves containerd.task.v2.Task on `listener` until Shutdown. Returns the exit
// code. `stdin_options` is the runtime options Any that `start` received.
int RunServer(const Flags& flags, UniqueFd listener, std::string stdin_options);

}  // namespace berth::shim
