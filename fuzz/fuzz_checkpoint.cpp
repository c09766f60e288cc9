// fuzz/fuzz_checkpoint.cpp — fuzzes the checkpoint read path (read_checkpoint: safetensors, the format tag,
// the metadata numbers, the embedded config and data state). read_checkpoint takes a path, so each input is
// written to an in-memory file (memfd) and read back through /proc/self/fd. Input: the checkpoint file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "fuzz/fuzz_input.h"
#include "gan/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ganglion;
  static const int fd = ::memfd_create("fuzz_checkpoint", 0);
  if (fd < 0) std::abort();
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  fuzz::expect_only_errors([&] {
    Checkpoint ck = read_checkpoint(path);
    if (!ck.has_part("G.") || !ck.has_part("D.")) __builtin_trap();  // read_checkpoint promises both
  });
  return 0;
}
