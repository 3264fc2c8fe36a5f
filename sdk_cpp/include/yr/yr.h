// The yr C++ SDK: #include "yr/yr.h".
//
// libyr hosts the Python runtime (embedded through pybind11) and reaches the cluster only
// through yr._bridge; these headers turn C++ calls and values into bridge calls and neutral
// Python values. See docs/cpp.md.
#pragma once

#include "yr/api.h"
#include "yr/config.h"
#include "yr/cross_language.h"
#include "yr/exception.h"
#include "yr/function_handler.h"
#include "yr/invoke_options.h"
#include "yr/kv.h"
#include "yr/named_instance.h"
#include "yr/object_ref.h"
#include "yr/stream.h"
#include "yr/yr_invoke.h"
