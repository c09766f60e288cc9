// layers/sequential.h — Sequential: modules applied in order, registered as children "0", "1", ... so that
// parameter names match PyTorch's nn.Sequential ("0.weight", "3.running_mean").
#pragma once
#include <initializer_list>

#include "layers/module.h"

namespace ganglion {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<ModulePtr> modules);
  explicit Sequential(const std::vector<ModulePtr>& modules);

  // Appends m under the next index and returns this Sequential (for chaining).
  Sequential& push_back(ModulePtr m);
  Tensor forward(const Tensor& x) override;
  std::string name() const override { return "Sequential"; }

  size_t size() const { return children().size(); }
  const ModulePtr& operator[](size_t i) const;
};

}  // namespace ganglion
