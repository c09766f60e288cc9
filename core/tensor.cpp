// core/tensor.cpp — Storage (aligned host buffers, device buffers from the caching allocator), Tensor accessors,
// factories, device copies and printing. An allocation that fails names the op that asked (core/dispatch.h
// OpScope), the bytes asked for, the tensor's shape and the memory free.
#include "core/tensor.h"

#include <sys/sysinfo.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <sstream>

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/host_pool.h"
#include "kernels/elementwise.h"

namespace ganglion {

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ',';
    r += std::to_string(s[i]);
  }
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

const char* dtype_name(DType d) { return d == DType::F32 ? "float32" : "int32"; }
size_t dtype_size(DType) { return 4; }

namespace {

// "268435456 bytes (256.0 MiB)"
std::string bytes_str(uint64_t bytes) {
  const char* units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char b[48];
  std::snprintf(b, sizeof b, "%.1f %s", v, units[u]);
  return std::to_string(bytes) + " bytes (" + b + ")";
}

// The host memory a new allocation can still get: MemAvailable from /proc/meminfo, else sysinfo's free RAM.
std::string host_memory_free() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return bytes_str(kib * 1024) + " available (MemAvailable, /proc/meminfo)";
  }
  struct sysinfo si;
  if (::sysinfo(&si) == 0)
    return bytes_str(static_cast<uint64_t>(si.freeram) * si.mem_unit) + " free (sysinfo)";
  return "free memory unknown";
}

// "matmul: " inside an op, "" outside any.
std::string op_prefix() {
  const char* op = current_op();
  return *op ? std::string(op) + ": " : std::string();
}

}  // namespace

Storage::Storage(Device d, size_t nbytes) : device(d), bytes(nbytes) {
  if (bytes == 0) return;
  if (d.is_cpu()) {
    // Rounded up to the alignment; a size that would overflow cannot be met anyway. The buffer comes from the host
    // pool (core/host_pool.h: cached, 64-byte aligned; null when out of memory).
    size_t rounded = bytes > std::numeric_limits<size_t>::max() - 63 ? 0 : (bytes + 63) / 64 * 64;
    data = rounded ? host_pool_alloc(rounded) : nullptr;
    if (!data)
      throw Error(op_prefix() + "out of host memory: asked for " + bytes_str(bytes) + "; the host has " +
                  host_memory_free());
  } else {
    try {
      data = cuda::device_alloc(bytes);
    } catch (const Error& e) {
      throw Error(op_prefix() + e.what());
    }
  }
}

Storage::~Storage() {
  if (!data) return;
  if (device.is_cpu()) {
    host_pool_free(data, (bytes + 63) / 64 * 64);
  } else {
    try {
      cuda::device_free(data);
    } catch (...) {  // a destructor must not throw; the allocator's own check is for direct callers
    }
  }
}

Tensor Tensor::empty(const Shape& shape, Device device, DType dtype) {
  for (int64_t d : shape) {
    if (d < 0) throw Error("empty: negative dimension in shape " + shape_str(shape));
  }
  // The element count and byte size, refusing shapes whose size does not fit in 64 bits.
  uint64_t numel = 1;
  const uint64_t max_bytes = std::numeric_limits<uint64_t>::max() / 2;
  for (int64_t d : shape) {
    if (d != 0 && numel > max_bytes / dtype_size(dtype) / static_cast<uint64_t>(d))
      throw Error(op_prefix() + "a tensor of shape " + shape_str(shape) + " is too large to address");
    numel *= static_cast<uint64_t>(d);
  }
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  try {
    impl->storage = std::make_shared<Storage>(device, static_cast<size_t>(numel * dtype_size(dtype)));
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (for a " + dtype_name(dtype) + " tensor of shape " + shape_str(shape) +
                " on " + device.str() + ")");
  }
  return Tensor(impl);
}

static TensorImpl& checked(const std::shared_ptr<TensorImpl>& p) {
  if (!p) throw Error("use of an undefined tensor");
  return *p;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  int64_t i = d < 0 ? d + n : d;
  if (i < 0 || i >= n) {
    throw Error("size: dimension " + std::to_string(d) + " out of range for shape " + shape_str(shape()));
  }
  return shape()[static_cast<size_t>(i)];
}
int64_t Tensor::numel() const { return shape_numel(shape()); }
Device Tensor::device() const { return checked(impl_).storage->device; }
DType Tensor::dtype() const { return checked(impl_).dtype; }

float* Tensor::data() {
  auto& t = checked(impl_);
  return static_cast<float*>(t.storage->data) + t.offset;
}
const float* Tensor::data() const { return const_cast<Tensor*>(this)->data(); }
int32_t* Tensor::data_i32() {
  auto& t = checked(impl_);
  return static_cast<int32_t*>(t.storage->data) + t.offset;
}
const int32_t* Tensor::data_i32() const { return const_cast<Tensor*>(this)->data_i32(); }

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  if (v.empty()) return v;
  if (dtype() == DType::I32) {
    std::vector<int32_t> iv(v.size());
    if (device().is_cpu()) {
      std::memcpy(iv.data(), data_i32(), iv.size() * 4);
    } else {
      cuda::copy_d2h(iv.data(), data_i32(), iv.size() * 4);
    }
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(iv[i]);
    return v;
  }
  if (device().is_cpu()) {
    std::memcpy(v.data(), data(), v.size() * sizeof(float));
  } else {
    cuda::copy_d2h(v.data(), data(), v.size() * sizeof(float));
  }
  return v;
}

float Tensor::item() const {
  if (numel() != 1) throw Error("item: tensor of shape " + shape_str(shape()) + " has " +
                                std::to_string(numel()) + " elements, expected 1");
  return to_vector()[0];
}

float Tensor::at(std::initializer_list<int64_t> idx) const {
  const Shape& s = shape();
  if (idx.size() != s.size()) {
    throw Error("at: " + std::to_string(idx.size()) + " indices for shape " + shape_str(s));
  }
  int64_t flat = 0, k = 0;
  for (int64_t i : idx) {
    if (i < 0 || i >= s[static_cast<size_t>(k)]) throw Error("at: index out of range for shape " + shape_str(s));
    flat = flat * s[static_cast<size_t>(k)] + i;
    ++k;
  }
  if (device().is_cpu()) return dtype() == DType::F32 ? data()[flat] : static_cast<float>(data_i32()[flat]);
  float v = 0;
  cuda::copy_d2h(&v, data() + flat, sizeof(float));
  return v;
}

static void copy_bytes(Device dst_dev, void* dst, Device src_dev, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (dst_dev.is_cpu() && src_dev.is_cpu()) {
    std::memcpy(dst, src, bytes);
  } else if (dst_dev.is_cuda() && src_dev.is_cpu()) {
    cuda::copy_h2d(dst, src, bytes);
  } else if (dst_dev.is_cpu() && src_dev.is_cuda()) {
    cuda::copy_d2h(dst, src, bytes);
  } else {
    cuda::copy_d2d(dst, src, bytes);
  }
}

Tensor Tensor::contiguous_copy() const {
  OpScope scope("contiguous_copy");
  Tensor out = empty(shape(), device(), dtype());
  copy_bytes(device(), out.impl()->storage->data, device(), data(), static_cast<size_t>(numel()) * 4);
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  if (d.is_cuda()) {
    std::string why;
    if (!cuda::available(&why)) throw Error("to(cuda): no usable GPU: " + why);
  }
  OpScope scope("to");
  Tensor out = empty(shape(), d, dtype());
  copy_bytes(d, out.impl()->storage->data, device(), data(), static_cast<size_t>(numel()) * 4);
  Device src = device();
  return record("to", out, {*this}, [src](const Tensor& g, const Tensor&) { return std::vector<Tensor>{g.to(src)}; });
}

bool Tensor::requires_grad() const { return checked(impl_).requires_grad; }
Tensor& Tensor::set_requires_grad(bool r) {
  auto& t = checked(impl_);
  if (t.grad_fn && !r) throw Error("set_requires_grad: only leaves can stop requiring grad; use detach()");
  if (r && t.dtype != DType::F32) throw Error("set_requires_grad: only float32 tensors can require grad");
  t.requires_grad = r || t.grad_fn != nullptr;
  return *this;
}
Tensor Tensor::grad() const { return checked(impl_).grad; }
void Tensor::set_grad(const Tensor& g) {
  if (g.defined() && g.shape() != shape()) {
    throw Error("set_grad: gradient shape " + shape_str(g.shape()) + " differs from tensor shape " +
                shape_str(shape()));
  }
  checked(impl_).grad = g;
}
void Tensor::zero_grad() { checked(impl_).grad = Tensor(); }
bool Tensor::is_leaf() const { return checked(impl_).grad_fn == nullptr; }
std::shared_ptr<Node> Tensor::grad_fn() const { return checked(impl_).grad_fn; }

Tensor Tensor::detach() const {
  auto& t = checked(impl_);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage;
  impl->offset = t.offset;
  impl->shape = t.shape;
  impl->dtype = t.dtype;
  return Tensor(impl);
}

std::string Tensor::str(int64_t max_elems) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor" << shape_str(shape()) << " " << device().str();
  if (dtype() != DType::F32) os << " " << dtype_name(dtype());
  if (requires_grad()) os << " requires_grad";
  std::vector<float> v = to_vector();
  os << " {";
  for (int64_t i = 0; i < static_cast<int64_t>(v.size()) && i < max_elems; ++i) os << (i ? ", " : "") << v[i];
  if (static_cast<int64_t>(v.size()) > max_elems) os << ", ...";
  os << "}";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// ---- Factories ----
Tensor full(const Shape& s, float v, Device d) {
  OpScope scope("full");
  Tensor t = Tensor::empty(s, d);
  GANGLION_DISPATCH(d, fill, t.data(), t.numel(), v);
  return t;
}
Tensor zeros(const Shape& s, Device d) { return full(s, 0.f, d); }
Tensor ones(const Shape& s, Device d) { return full(s, 1.f, d); }
Tensor scalar_tensor(float v, Device d) { return full({}, v, d); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.device()); }

Tensor from_vector(const std::vector<float>& v, const Shape& s, Device d) {
  if (static_cast<int64_t>(v.size()) != shape_numel(s)) {
    throw Error("from_vector: " + std::to_string(v.size()) + " values for shape " + shape_str(s) + " (" +
                std::to_string(shape_numel(s)) + " elements)");
  }
  OpScope scope("from_vector");
  Tensor t = Tensor::empty(s, Device::cpu());
  if (!v.empty()) std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
  return d.is_cpu() ? t : t.to(d);
}

Tensor arange(int64_t n, Device d) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return from_vector(v, {n}, d);
}

}  // namespace ganglion
