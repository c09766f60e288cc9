// gan/data_source.h — where a training run's real batches come from: a 2-D mixture (drawn from its own Generator)
// or an image dataset (a shuffling ImageBatcher). Both sample a batch on a device and expose their position as
// JSON, which the checkpoint keeps so that a resumed run sees exactly the batches an uninterrupted one would.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/tensor.h"
#include "gan/config.h"
#include "gan/data2d.h"

namespace ganglion {

class DataSource {
 public:
  virtual ~DataSource() = default;
  // The next n real samples on device d: [n, 2] points or [n, C, S, S] images in [-1, 1].
  virtual Tensor sample(int64_t n, Device d) = 0;
  // The position in the data stream: {"seed", "offset"} for mixtures, {"epoch", "position"} for images.
  virtual nlohmann::json state() const = 0;
  // Restores a position from state(); Error naming the missing or bad key.
  virtual void set_state(const nlohmann::json& s) = 0;
  // The mixture (for mode metrics and scatter plots), or null for images.
  virtual const Mixture2d* mixture() const { return nullptr; }
  // One line for the log: "grid25" or "mnist: 60000 images 1x28x28 from /data/mnist".
  virtual std::string describe() const = 0;
};

// The data source config.data names, seeded with data_seed. Image datasets are loaded here: a missing or empty
// data_path is an Error naming --data-path; a bad file is image_data's Error naming it.
std::unique_ptr<DataSource> make_data_source(const TrainConfig& c, uint64_t data_seed);

}  // namespace ganglion
