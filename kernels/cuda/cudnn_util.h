// kernels/cuda/cudnn_util.h — what the cuDNN twins share: the status check (naming the op, file and line) and the
// process's cuDNN handle bound to the engine's stream. Defined in kernels/cuda/cudnn_conv.cpp.
#pragma once
#include <cudnn.h>

#include "kernels/common.h"

namespace ganglion::cudnn::detail {
void check(cudnnStatus_t st, const char* op, const char* file, int line);
cudnnHandle_t handle(Stream s);
}  // namespace ganglion::cudnn::detail

#define GANGLION_CUDNN_CHECK(call, op) ::ganglion::cudnn::detail::check((call), (op), __FILE__, __LINE__)
