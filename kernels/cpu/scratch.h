// kernels/cpu/scratch.h — per-thread scratch buffers for the CPU twins (im2col columns, per-thread partial
// sums). Each thread keeps a few grow-only buffers, so the hot path neither allocates, page-faults nor zeroes
// memory once the largest shape has been seen. Contents are uninitialised on every call.
#pragma once
#include <cstddef>

namespace ganglion::cpu {

// The buffer slots a caller may hold at the same time on one thread.
enum class ScratchSlot : int { Columns = 0, Partial = 1, Staging = 2, Count = 3 };

// At least n floats, 64-byte aligned, owned by the calling thread and valid until its next call with the same
// slot. Throws Error when the memory cannot be had.
float* thread_scratch(ScratchSlot slot, size_t n);

}  // namespace ganglion::cpu
