#include "util/core_dumps.h"

#include <sys/prctl.h>
#include <sys/resource.h>

namespace veil {

bool disable_core_dumps() {
    rlimit none{0, 0};
    bool limited = ::setrlimit(RLIMIT_CORE, &none) == 0;
    bool undumpable = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
    return limited && undumpable;
}

} // namespace veil
