// layers/activation.cpp — the parameter-free layers that need more than one line: LeakyReLU's name, Reshape
// and Maxout.
#include "layers/activation.h"

#include <sstream>

namespace ganglion {

std::string LeakyReLU::name() const {
  std::ostringstream os;
  os << "LeakyReLU(negative_slope=" << negative_slope << ")";
  return os.str();
}

Reshape::Reshape(Shape s) : shape(std::move(s)) {
  int unknown = 0;
  for (int64_t d : shape) {
    if (d == -1) ++unknown;
    else if (d < 0) throw Error("Reshape: invalid size " + std::to_string(d) + " in " + shape_str(shape));
  }
  if (unknown > 1) throw Error("Reshape: at most one -1 is allowed, got " + shape_str(shape));
}

Tensor Reshape::forward(const Tensor& x) { return reshape(x, shape); }

Maxout::Maxout(int64_t p) : pieces(p) {
  if (p <= 0) throw Error("Maxout: pieces must be positive, got " + std::to_string(p));
}

Tensor Maxout::forward(const Tensor& x) {
  if (x.dim() != 2 || x.size(1) % pieces != 0)
    throw Error(name() + ": expected input [N, F*" + std::to_string(pieces) + "], got " + shape_str(x.shape()));
  return max(reshape(x, {x.size(0), x.size(1) / pieces, pieces}), 2);
}

}  // namespace ganglion
