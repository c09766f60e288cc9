// core/autograd.cpp — grad mode, recording nodes, and the backward engine shared by Tensor::backward() and
// grad(): a topological walk from the outputs that sums the gradient reaching each node and leaf.
#include "core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "core/ops.h"

namespace ganglion {

namespace {
thread_local bool t_grad_enabled = true;
}

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool on) { t_grad_enabled = on; }

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs) {
    if (t && t->defined() && t->requires_grad()) return true;
  }
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

Tensor record(const char* name, Tensor out, std::vector<Tensor> inputs, Node::BackwardFn backward) {
  if (!needs_grad(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  node->out = out.impl_ptr();
  out.impl()->grad_fn = node;
  out.impl()->requires_grad = true;
  return out;
}

namespace {

Tensor accumulate(const Tensor& acc, const Tensor& g) { return acc.defined() ? add(acc, g) : g; }

// The engine. Seeds each output with its gradient, walks the nodes in reverse topological order and returns the
// summed gradients of every leaf reached (by impl) and of every node's output (by node).
struct Engine {
  std::unordered_map<Node*, Tensor> node_grad;
  std::unordered_map<TensorImpl*, Tensor> leaf_grad;
  std::vector<Node*> order;  // outputs first

  // `stop_at`: nodes whose inputs need not be visited (grad() w.r.t. a non-leaf tensor).
  void run(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
           const std::unordered_set<Node*>& stop_at) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      const Tensor& o = outputs[i];
      if (!o.requires_grad()) continue;
      Tensor g = i < grad_outputs.size() && grad_outputs[i].defined() ? grad_outputs[i] : Tensor();
      if (!g.defined()) {
        if (o.numel() != 1) {
          throw Error("backward: output " + std::to_string(i) + " of shape " + shape_str(o.shape()) +
                      " is not a scalar; pass a grad_output");
        }
        g = ones(o.shape(), o.device());
      } else if (g.shape() != o.shape()) {
        throw Error("backward: grad_output shape " + shape_str(g.shape()) + " differs from output shape " +
                    shape_str(o.shape()));
      }
      if (o.grad_fn()) {
        node_grad[o.grad_fn().get()] = accumulate(node_grad[o.grad_fn().get()], g);
      } else {
        leaf_grad[o.impl()] = accumulate(leaf_grad[o.impl()], g);
      }
    }
    topo_sort(outputs, stop_at);
    for (Node* n : order) {
      auto it = node_grad.find(n);
      if (it == node_grad.end() || !it->second.defined()) continue;
      if (stop_at.count(n)) continue;
      std::shared_ptr<TensorImpl> out = n->out.lock();
      if (!out) throw Error("backward: the output of '" + n->name + "' was freed before its backward ran");
      std::vector<Tensor> gin = n->backward(it->second, Tensor(out));
      for (size_t j = 0; j < n->inputs.size() && j < gin.size(); ++j) {
        const Tensor& in = n->inputs[j];
        if (!gin[j].defined() || !in.defined() || !in.requires_grad()) continue;
        if (gin[j].shape() != in.shape()) {
          throw Error("backward of " + n->name + ": gradient for input " + std::to_string(j) + " has shape " +
                      shape_str(gin[j].shape()) + " but the input has " + shape_str(in.shape()));
        }
        if (in.grad_fn()) {
          Tensor& slot = node_grad[in.grad_fn().get()];
          slot = accumulate(slot, gin[j]);
        } else {
          Tensor& slot = leaf_grad[in.impl()];
          slot = accumulate(slot, gin[j]);
        }
      }
    }
  }

  void topo_sort(const std::vector<Tensor>& outputs, const std::unordered_set<Node*>& stop_at) {
    // Iterative post-order DFS; reversed, it lists every node before the nodes it depends on.
    std::unordered_set<Node*> seen;
    std::vector<std::pair<Node*, size_t>> stack;
    std::vector<Node*> post;
    for (const Tensor& o : outputs) {
      Node* root = o.defined() && o.grad_fn() ? o.grad_fn().get() : nullptr;
      if (!root || seen.count(root)) continue;
      seen.insert(root);
      stack.push_back({root, 0});
      while (!stack.empty()) {
        auto& [n, next] = stack.back();
        bool descend = !stop_at.count(n);
        if (descend && next < n->inputs.size()) {
          const Tensor& in = n->inputs[next++];
          Node* c = in.defined() && in.grad_fn() ? in.grad_fn().get() : nullptr;
          if (c && !seen.count(c)) {
            seen.insert(c);
            stack.push_back({c, 0});
          }
        } else {
          post.push_back(n);
          stack.pop_back();
        }
      }
    }
    order.assign(post.rbegin(), post.rend());
  }
};

}  // namespace

void Tensor::backward(const Tensor& grad_output, bool create_graph) const {
  if (!requires_grad()) throw Error("backward: the tensor does not require grad (no leaf it depends on does)");
  GradModeGuard mode(create_graph);
  Engine e;
  e.run({*this}, {grad_output}, {});
  for (auto& [impl, g] : e.leaf_grad) {
    if (!impl->requires_grad || !g.defined()) continue;
    // With create_graph the leaf's .grad keeps a graph that refers back to the leaf: a reference cycle, as in
    // PyTorch, that the caller breaks with zero_grad() when done (else LeakSanitizer reports both as leaked).
    Tensor gg = create_graph ? g : g.detach();
    impl->grad = impl->grad.defined() ? add(impl->grad, gg) : gg;
    if (!create_graph) impl->grad = impl->grad.detach();
  }
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph, bool allow_unused) {
  std::unordered_set<Node*> stop_at;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) {
      throw Error("grad: input " + std::to_string(i) + " does not require grad");
    }
    if (inputs[i].grad_fn()) stop_at.insert(inputs[i].grad_fn().get());
  }
  GradModeGuard mode(create_graph);
  Engine e;
  e.run(outputs, grad_outputs, stop_at);
  std::vector<Tensor> result;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& in = inputs[i];
    Tensor g;
    if (in.grad_fn()) {
      auto it = e.node_grad.find(in.grad_fn().get());
      if (it != e.node_grad.end()) g = it->second;
    } else {
      auto it = e.leaf_grad.find(in.impl());
      if (it != e.leaf_grad.end()) g = it->second;
    }
    if (!g.defined()) {
      if (!allow_unused) {
        throw Error("grad: input " + std::to_string(i) + " " + shape_str(in.shape()) +
                    " was not used to compute the outputs (pass allow_unused to get zeros)");
      }
      g = zeros(in.shape(), in.device());
    }
    result.push_back(create_graph ? g : g.detach());
  }
  return result;
}

}  // namespace ganglion
