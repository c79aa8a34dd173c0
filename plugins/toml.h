#pragma once

// The one way the project includes toml++: header-only and without exceptions, so parse errors
// come back as values (the project throws no exceptions). Every file must include this header
// instead of <toml++/toml.h> to keep one configuration of the library in the program.

#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>
