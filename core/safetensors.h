// core/safetensors.h — reading and writing the safetensors format (an 8-byte little-endian header length, a JSON
// header of name -> {dtype, shape, data_offsets} plus an optional "__metadata__" of strings, then the raw
// little-endian data). Writes are atomic (temporary file, fsync, rename); reads validate everything and throw a
// ganglion::Error naming the file and what is wrong.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"

namespace ganglion {

using TensorMap = std::map<std::string, Tensor>;

// Writes `tensors` (F32 or I32; CUDA tensors are copied to the host first) and the string metadata to `path`.
// The file is written to `path.tmp.<pid>`, flushed, fsynced and renamed over `path`, so a failure (disk full,
// read-only directory, bad path) leaves any old file untouched, removes the temporary and throws Error naming
// the path and the reason.
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Reads every tensor of `path` onto the CPU. F32 and I32 load as they are; F64, F16 and BF16 are converted to
// F32, and I64 to I32 (an error when a value does not fit). When `metadata` is given it receives the
// "__metadata__" entries (cleared first). Any malformed file gives an Error naming the file and the problem.
TensorMap load_safetensors(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);
// The same reader on a whole file's bytes in memory; `name` stands for the file in error messages.
TensorMap load_safetensors_from_memory(const void* data, size_t size, const std::string& name,
                                       std::map<std::string, std::string>* metadata = nullptr);

}  // namespace ganglion
