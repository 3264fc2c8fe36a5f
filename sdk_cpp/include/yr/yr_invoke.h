// YR_INVOKE(f, Cls::Factory, &Cls::Method, ...) and YR_STATE(members...).
#pragma once

#include "yr/detail/registry.h"
