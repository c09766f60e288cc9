// tests/main.cpp — the Catch2 entry point for the ganglion_tests binary. After the run it hands the caching
// allocator's blocks back to the driver, so that leak checkers (compute-sanitizer --leak-check full) see only
// real leaks.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "kernels/device.h"

int main(int argc, char* argv[]) {
  int rc = Catch::Session().run(argc, argv);
  if (ganglion::cuda::available()) ganglion::cuda::empty_cache();
  return rc;
}
