// layers/module.cpp — the Module base: registration, dotted names, train/eval, state_dict and
// load_state_dict, moving to a device, and the printed summary.
#include "layers/module.h"

#include <set>

#include "core/autograd.h"
#include "core/ops.h"

namespace ganglion {

namespace {

int64_t count_elements(const NamedTensors& ts) {
  int64_t n = 0;
  for (const auto& [name, t] : ts) n += t.numel();
  return n;
}

bool has_name(const NamedTensors& ts, const std::string& name) {
  for (const auto& [n, t] : ts)
    if (n == name) return true;
  return false;
}

// Points the handle `t` at a copy of its data on d (same TensorImpl, new storage), moving .grad along.
void move_in_place(const Tensor& t, Device d) {
  if (!t.defined() || t.device() == d) return;
  NoGradGuard no_grad;
  Tensor moved = t.detach().to(d);
  TensorImpl* impl = t.impl();
  impl->storage = moved.impl()->storage;
  impl->offset = moved.impl()->offset;
  if (impl->grad.defined()) impl->grad = impl->grad.detach().to(d);
}

}  // namespace

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  if (!t.defined()) throw Error("Module::register_parameter: '" + name + "' is undefined");
  if (has_name(params_, name) || has_name(buffers_, name))
    throw Error("Module::register_parameter: '" + name + "' is already registered in " + this->name());
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  if (!t.defined()) throw Error("Module::register_buffer: '" + name + "' is undefined");
  if (has_name(params_, name) || has_name(buffers_, name))
    throw Error("Module::register_buffer: '" + name + "' is already registered in " + this->name());
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  if (!m) throw Error("Module::register_module: '" + name + "' is null");
  for (const auto& [n, c] : children_)
    if (n == name) throw Error("Module::register_module: '" + name + "' is already registered");
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, NamedTensors& out) const {
  for (const auto& [name, t] : params ? params_ : buffers_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", params, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const { return count_elements(named_parameters()); }

void Module::apply(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& [name, child] : children_) child->apply(fn);
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

TensorMap Module::state_dict() const {
  TensorMap out;
  for (auto& [name, t] : named_parameters()) out[name] = t.detach();
  for (auto& [name, t] : named_buffers()) out[name] = t.detach();
  return out;
}

void Module::load_state_dict(const TensorMap& state, bool strict) {
  NamedTensors own = named_parameters();
  for (auto& nt : named_buffers()) own.push_back(nt);

  std::vector<std::string> missing, mismatched;
  std::set<std::string> known;
  for (const auto& [name, t] : own) {
    known.insert(name);
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
    } else if (!it->second.defined() || it->second.shape() != t.shape()) {
      mismatched.push_back(name + " (module " + shape_str(t.shape()) + ", given " +
                           (it->second.defined() ? shape_str(it->second.shape()) : "undefined") + ")");
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& [name, t] : state)
    if (!known.count(name)) unexpected.push_back(name);

  std::string problems;
  auto list = [&](const char* what, const std::vector<std::string>& names) {
    if (names.empty()) return;
    problems += std::string(problems.empty() ? "" : "; ") + what + ": ";
    for (size_t i = 0; i < names.size(); ++i) problems += (i ? ", " : "") + names[i];
  };
  list("shape mismatch", mismatched);
  if (strict) {
    list("missing keys", missing);
    list("unexpected keys", unexpected);
  }
  if (!problems.empty()) throw Error("load_state_dict into " + name() + ": " + problems);

  NoGradGuard no_grad;
  for (auto& [name, t] : own) {
    auto it = state.find(name);
    if (it == state.end()) continue;
    Tensor dst = t;
    copy_(dst, it->second);
  }
}

void Module::to(Device d) {
  for (auto& [name, t] : params_) move_in_place(t, d);
  for (auto& [name, t] : buffers_) move_in_place(t, d);
  for (auto& [name, child] : children_) child->to(d);
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.zero_grad();
}

void Module::str_into(std::string& out, const std::string& label, int indent) const {
  const std::string pad(indent, ' ');
  out += pad + label + name();
  if (children_.empty()) {
    const int64_t n = count_elements(params_);
    if (n) out += "  # " + std::to_string(n) + " params";
    out += "\n";
    return;
  }
  out += "(\n";
  for (const auto& [cname, child] : children_) child->str_into(out, "(" + cname + "): ", indent + 2);
  out += pad + ")\n";
}

std::string Module::str() const {
  std::string out;
  str_into(out, "", 0);
  out += "Total parameters: " + std::to_string(num_parameters()) + "\n";
  return out;
}

}  // namespace ganglion
