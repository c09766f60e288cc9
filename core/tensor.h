// core/tensor.h — the Tensor: a shared handle to a contiguous float32 (or int32 index) buffer on a device, with a
// shape, and the autograd fields (requires_grad, .grad, the node that made it). Views (reshape/flatten) share
// storage. All math goes through core/ops.h.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/device.h"
#include "kernels/common.h"

namespace ganglion {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[64,3,32,32]"
int64_t shape_numel(const Shape& s);

enum class DType { F32, I32 };
const char* dtype_name(DType d);
size_t dtype_size(DType d);

// A device buffer. Freed (or returned to the caching allocator) when the last tensor using it goes.
struct Storage {
  Device device;
  void* data = nullptr;
  size_t bytes = 0;
  Storage(Device d, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // undefined
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Allocates an uninitialised tensor.
  static Tensor empty(const Shape& shape, Device device = Device::cpu(), DType dtype = DType::F32);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  Device device() const;
  DType dtype() const;

  float* data();  // raw pointer into the device's memory (offset applied)
  const float* data() const;
  int32_t* data_i32();
  const int32_t* data_i32() const;

  // Host-side reads (copies from the device when needed): for tests, printing and scalars.
  std::vector<float> to_vector() const;
  float item() const;                                  // requires numel() == 1
  float at(std::initializer_list<int64_t> idx) const;  // element access for tests

  Tensor to(Device d) const;  // a copy on d (this tensor when already there); differentiable
  Tensor contiguous_copy() const;  // a fresh copy with its own storage (not differentiable)

  // Autograd.
  bool requires_grad() const;
  Tensor& set_requires_grad(bool r = true);  // leaves only
  Tensor grad() const;                       // undefined until a backward() reaches this leaf
  void set_grad(const Tensor& g);
  void zero_grad();  // drops .grad
  bool is_leaf() const;
  std::shared_ptr<Node> grad_fn() const;
  Tensor detach() const;  // shares storage, no history
  // Accumulates d(this)/d(leaf) into every reachable leaf's .grad. `grad_output` defaults to 1 for a scalar.
  void backward(const Tensor& grad_output = Tensor(), bool create_graph = false) const;

  // Identity and the implementation (for autograd and storage plumbing).
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  std::string str(int64_t max_elems = 16) const;  // "Tensor[2,3] cpu {1, 2, ...}"

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  size_t offset = 0;  // in elements
  Shape shape;
  DType dtype = DType::F32;
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
};

// ---- Factories (CPU unless a device is given) ----
Tensor zeros(const Shape& s, Device d = Device::cpu());
Tensor ones(const Shape& s, Device d = Device::cpu());
Tensor full(const Shape& s, float v, Device d = Device::cpu());
Tensor from_vector(const std::vector<float>& v, const Shape& s, Device d = Device::cpu());
Tensor scalar_tensor(float v, Device d = Device::cpu());
Tensor arange(int64_t n, Device d = Device::cpu());  // 0, 1, ..., n-1 as floats
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);

}  // namespace ganglion
