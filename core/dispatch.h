// core/dispatch.h — the one point that picks a kernel twin by device: ganglion::cpu::<fn> for CPU tensors,
// ganglion::cuda::<fn> (on the engine's stream) for CUDA tensors. Ops call GANGLION_DISPATCH and nothing else.
// Also the op scope: the name of the op running on this thread, so that an allocation failing inside it (host or
// GPU) can say which op asked.
#pragma once
#include <string>

#include "core/device.h"
#include "kernels/common.h"
#include "kernels/device.h"

namespace ganglion {

[[noreturn]] void throw_no_cuda(const char* op);

// The innermost op running on this thread ("" outside any op). Set by OpScope; read by the allocation errors.
inline thread_local const char* t_current_op = "";
inline const char* current_op() { return t_current_op; }
// Names the op for the duration of a scope (nested scopes restore the outer name). `op` must outlive the scope
// (a string literal).
class OpScope {
 public:
  explicit OpScope(const char* op) : outer_(t_current_op) { t_current_op = op; }
  ~OpScope() { t_current_op = outer_; }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  const char* outer_;
};

// Rethrows an error raised inside a CUDA kernel call (its scratch allocation running out of GPU memory, a failed
// launch) with the name of the op that called it in front — the innermost OpScope, else the kernel's name — so
// that "device_alloc: out of GPU memory" says whose allocation it was. A message that already starts with that
// name is rethrown as it is.
[[noreturn]] void rethrow_in_op(const Error& e, const char* kernel);

// Which conv/batchnorm implementation CUDA tensors use: ours (default) or cuDNN. Read once from the environment
// variable GANGLION_CONV=native|cudnn (an unknown value is an Error naming the variable); settable for tests.
enum class CudaImpl { Native, Cudnn };
CudaImpl cuda_conv_impl();
void set_cuda_conv_impl(CudaImpl impl);

}  // namespace ganglion

#ifdef GANGLION_HAS_CUDA
// Runs a CUDA kernel call (the variadic part), naming the op in what it throws (rethrow_in_op).
#define GANGLION_CUDA_CALL_(kernel, ...)     \
  try {                                      \
    __VA_ARGS__;                             \
  } catch (const ::ganglion::Error& e_) {    \
    ::ganglion::rethrow_in_op(e_, kernel);   \
  }
#define GANGLION_DISPATCH(dev, fn, ...)                                                       \
  do {                                                                                        \
    if ((dev).is_cuda()) {                                                                    \
      GANGLION_CUDA_CALL_(#fn, ::ganglion::cuda::fn(::ganglion::cuda::stream(), __VA_ARGS__)) \
    } else {                                                                                  \
      ::ganglion::cpu::fn(nullptr, __VA_ARGS__);                                              \
    }                                                                                         \
  } while (0)
// Conv and batchnorm: on CUDA, ours or cuDNN as chosen by cuda_conv_impl().
#define GANGLION_DISPATCH_DNN(dev, fn, ...)                                                      \
  do {                                                                                           \
    if ((dev).is_cuda()) {                                                                       \
      if (::ganglion::cuda_conv_impl() == ::ganglion::CudaImpl::Cudnn) {                         \
        GANGLION_CUDA_CALL_(#fn, ::ganglion::cudnn::fn(::ganglion::cuda::stream(), __VA_ARGS__)) \
      } else {                                                                                   \
        GANGLION_CUDA_CALL_(#fn, ::ganglion::cuda::fn(::ganglion::cuda::stream(), __VA_ARGS__))  \
      }                                                                                          \
    } else {                                                                                     \
      ::ganglion::cpu::fn(nullptr, __VA_ARGS__);                                                 \
    }                                                                                            \
  } while (0)
#else
#define GANGLION_DISPATCH(dev, fn, ...)          \
  do {                                           \
    if ((dev).is_cuda())                         \
      ::ganglion::throw_no_cuda(#fn);            \
    else                                         \
      ::ganglion::cpu::fn(nullptr, __VA_ARGS__); \
  } while (0)
#define GANGLION_DISPATCH_DNN(dev, fn, ...) GANGLION_DISPATCH(dev, fn, __VA_ARGS__)
#endif
