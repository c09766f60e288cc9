// layers/sequential.cpp — the Sequential container.
#include "layers/sequential.h"

namespace ganglion {

Sequential::Sequential(std::initializer_list<ModulePtr> modules) {
  for (const auto& m : modules) push_back(m);
}

Sequential::Sequential(const std::vector<ModulePtr>& modules) {
  for (const auto& m : modules) push_back(m);
}

Sequential& Sequential::push_back(ModulePtr m) {
  add_child(std::to_string(size()), std::move(m));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& [name, m] : children()) y = m->forward(y);
  return y;
}

const ModulePtr& Sequential::operator[](size_t i) const {
  if (i >= size())
    throw Error("Sequential: index " + std::to_string(i) + " out of range for " + std::to_string(size()) +
                " modules");
  return children()[i].second;
}

}  // namespace ganglion
