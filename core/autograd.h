// core/autograd.h — the graph of recorded ops and the backward engine. A Node is made by an op when grad mode is
// on and an input requires grad; its backward is written in ops, so running it with grad mode on records a new
// graph (create_graph) and gives higher-order gradients with no special case.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ganglion {

// Grad mode (thread-local): when off, ops record nothing.
bool grad_enabled();
void set_grad_enabled(bool on);
class GradModeGuard {
 public:
  explicit GradModeGuard(bool on) : prev_(grad_enabled()) { set_grad_enabled(on); }
  ~GradModeGuard() { set_grad_enabled(prev_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};
struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};

// One recorded op with a single output. `backward(grad_out, out)` returns one gradient per entry of `inputs`
// (undefined where that input needs none). `out` is the op's output, held weakly to avoid a cycle.
struct Node {
  using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_out, const Tensor& out)>;
  std::string name;
  std::vector<Tensor> inputs;
  BackwardFn backward;
  std::weak_ptr<TensorImpl> out;
};

// True when an op on these inputs must record a node.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);
// Attaches a node to `out` (which must be freshly made by the op) when needs_grad(inputs). Returns out.
Tensor record(const char* name, Tensor out, std::vector<Tensor> inputs, Node::BackwardFn backward);

// d(outputs)/d(inputs), weighted by grad_outputs (default: ones for scalar outputs). Returns fresh tensors and
// touches no .grad. With create_graph the result carries a graph of its own (double backward).
// An input the outputs do not depend on gives an error unless allow_unused (then zeros).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false,
                         bool allow_unused = false);

}  // namespace ganglion
