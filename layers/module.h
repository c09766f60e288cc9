// layers/module.h — Module, the base of every layer: parameters and buffers registered by name in order, child
// modules, PyTorch-style dotted names ("main.0.weight"), train/eval, state_dict/load_state_dict, to(Device),
// zero_grad and a printable summary. Modules are held by std::shared_ptr.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/safetensors.h"
#include "core/tensor.h"

namespace ganglion {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // One line describing this module alone, e.g. "Conv2d(1, 16, kernel_size=4, stride=2, padding=1, bias=False)".
  virtual std::string name() const = 0;
  // The module tree, one module a line, with parameter counts and the total.
  std::string str() const;

  // Training mode, set recursively on every child. Modules start in training mode.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Parameters and buffers of this module and all its children, in registration order (own entries first,
  // then each child's under "<child>."). The tensors are the live handles, not copies.
  std::vector<Tensor> parameters() const;
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  int64_t num_parameters() const;  // total elements over parameters()
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }
  // Calls fn on this module and then, depth first, on every descendant.
  void apply(const std::function<void(Module&)>& fn);

  // Parameters and buffers by dotted name (detached handles sharing storage with the module).
  TensorMap state_dict() const;
  // Copies values in with copy_ (devices may differ). A shape mismatch is always an error naming the key and
  // both shapes; with strict, a missing or unexpected key is an error too. Every problem is listed at once.
  void load_state_dict(const TensorMap& state, bool strict = true);

  // Moves every parameter and buffer (and any .grad) to d in place: the same Tensor handles now live on d, so
  // references held by the layers and by optimisers stay valid.
  void to(Device d);
  void zero_grad();  // drops every parameter's .grad

 protected:
  // Registers t (which gets requires_grad) under name and returns the handle the layer keeps.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }
  void add_child(const std::string& name, std::shared_ptr<Module> m);

 private:
  void collect(const std::string& prefix, bool params, NamedTensors& out) const;
  void str_into(std::string& out, const std::string& label, int indent) const;

  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

using ModulePtr = std::shared_ptr<Module>;

}  // namespace ganglion
