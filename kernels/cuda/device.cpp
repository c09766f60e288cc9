// kernels/cuda/device.cpp — the CUDA runtime layer behind kernels/device.h: one-time detection of a usable
// GPU, the process-wide stream, the caching allocator (size-class free lists, stream-ordered reuse) with its
// statistics, and host/device copies. Plain C++ against the CUDA runtime API; never prints.
#include "kernels/device.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/check.h"

namespace ganglion::cuda {

namespace {

// ---- detection ----

struct Detection {
  bool ok = false;
  std::string why;
  std::string name;
};

std::string error_words(cudaError_t e) { return std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e); }

const Detection& detection() {
  static const Detection d = [] {
    Detection r;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();  // do not leave the failure for a later check to misreport
      if (e == cudaErrorInsufficientDriver) {
        r.why = "CUDA driver not found (" + error_words(e) + ")";
      } else if (e == cudaErrorNoDevice) {
        r.why = "no CUDA device (" + error_words(e) + ")";
      } else {
        r.why = "CUDA unavailable (" + error_words(e) + ")";
      }
      return r;
    }
    if (count < 1) {
      r.why = "no CUDA device";
      return r;
    }
    cudaDeviceProp prop{};
    e = cudaGetDeviceProperties(&prop, 0);
    if (e == cudaSuccess) e = cudaSetDevice(0);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      r.why = "CUDA device 0 unusable (" + error_words(e) + ")";
      return r;
    }
    r.ok = true;
    r.name = prop.name;
    return r;
  }();
  return d;
}

void require(const char* op) {
  const Detection& d = detection();
  if (!d.ok) throw Error(std::string(op) + ": CUDA is not available: " + d.why);
}

// ---- caching allocator ----

constexpr size_t kSmallLimit = size_t(1) << 20;  // below 1 MiB: 512-byte classes
constexpr size_t kSmallGrain = 512;
constexpr size_t kLargeGrain = size_t(2) << 20;  // from 1 MiB: 2 MiB classes

size_t size_class(size_t bytes) {
  const size_t grain = bytes < kSmallLimit ? kSmallGrain : kLargeGrain;
  return (bytes + grain - 1) / grain * grain;
}

std::string mib(size_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

// All state behind one mutex. Blocks are freed onto per-class free lists and handed out again without
// cudaMalloc; since every kernel and copy runs on the one stream, a block freed after its last use was enqueued
// is safe to reuse by work enqueued later. Leaked on purpose (never destroyed), so that tensors released during
// static destruction still find it.
class Allocator {
 public:
  void* alloc(size_t bytes) {
    if (bytes == 0) return nullptr;
    const size_t cls = size_class(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    void* p = nullptr;
    auto it = free_.find(cls);
    if (it != free_.end() && !it->second.empty()) {
      p = it->second.back();
      it->second.pop_back();
    } else {
      p = malloc_with_retry(bytes, cls);
    }
    live_[p] = cls;
    stats_.in_use += cls;
    if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
    return p;
  }

  void free(void* p) {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) throw Error("device_free: pointer was not returned by device_alloc (or freed twice)");
    const size_t cls = it->second;
    live_.erase(it);
    stats_.in_use -= cls;
    free_[cls].push_back(p);
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mu_);
    release_cached_locked();
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.peak = stats_.in_use;
  }

 private:
  // cudaFree synchronises the device, so cached blocks still named by queued work are never pulled away.
  void release_cached_locked() {
    for (auto& [cls, blocks] : free_) {
      for (void* p : blocks) {
        (void)cudaFree(p);
        stats_.reserved -= cls;
      }
      blocks.clear();
    }
    free_.clear();
  }

  void* malloc_with_retry(size_t bytes, size_t cls) {
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, cls);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      release_cached_locked();
      e = cudaMalloc(&p, cls);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      std::string mem = "device memory unknown";
      if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) {
        mem = "device has " + std::to_string(free_b) + " bytes (" + mib(free_b) + ") free of " +
              std::to_string(total_b) + " (" + mib(total_b) + ")";
      } else {
        (void)cudaGetLastError();
      }
      throw Error("device_alloc: out of GPU memory: asked for " + std::to_string(bytes) + " bytes (" + mib(bytes) +
                  ", block " + std::to_string(cls) + "); " + mem + "; Ganglion holds " +
                  std::to_string(stats_.in_use) + " bytes in use (" + error_words(e) + ")");
    }
    stats_.reserved += cls;
    stats_.allocs += 1;
    return p;
  }

  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> live_;
  MemoryStats stats_;
};

Allocator& allocator() {
  static Allocator* a = new Allocator();  // intentionally leaked: see the class comment
  return *a;
}

}  // namespace

bool available(std::string* why) {
  const Detection& d = detection();
  if (!d.ok && why != nullptr) *why = d.why;
  return d.ok;
}

std::string device_name() {
  require("device_name");
  return detection().name;
}

Stream stream() {
  require("stream");
  // A plain (blocking) stream: it also orders against the legacy default stream, so stray default-stream
  // work in a library cannot race ours.
  static cudaStream_t s = [] {
    cudaStream_t created = nullptr;
    GANGLION_CUDA_CHECK(cudaStreamCreate(&created), "stream: cudaStreamCreate");
    return created;
  }();
  return static_cast<Stream>(s);
}

void synchronize() { GANGLION_CUDA_CHECK(cudaStreamSynchronize(as_stream(stream())), "synchronize"); }

void* device_alloc(size_t bytes) {
  require("device_alloc");
  return allocator().alloc(bytes);
}

void device_free(void* p) { allocator().free(p); }

void empty_cache() {
  if (!detection().ok) return;
  allocator().empty_cache();
}

MemoryStats memory_stats() { return allocator().stats(); }

void reset_peak() { allocator().reset_peak(); }

void copy_h2d(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  // From pageable memory the call returns once src has been staged, so the caller may reuse src at once.
  GANGLION_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, as_stream(stream())), "copy_h2d");
}

void copy_d2h(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  cudaStream_t s = as_stream(stream());
  GANGLION_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s), "copy_d2h");
  GANGLION_CUDA_CHECK(cudaStreamSynchronize(s), "copy_d2h: synchronize");
}

void copy_d2d(void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return;
  GANGLION_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, as_stream(stream())), "copy_d2d");
}

}  // namespace ganglion::cuda
