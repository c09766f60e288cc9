// gan/config.h — TrainConfig, everything a training run needs, its JSON form (nlohmann; unknown keys and wrong
// types are errors naming the key) and the named presets. The default preset is toy-grid25.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gan/models2d.h"
#include "gan/models_image.h"

namespace ganglion {

// The defaults are the default preset, toy-grid25 (the recipe and what was tried: gan/RECIPES.md).
// The most stacked-MNIST images a run may ask for (10^7 images of 3x28x28 floats: 94 GB).
inline constexpr int64_t kMaxStackedImages = 10'000'000;

struct TrainConfig {
  std::string preset = "toy-grid25";
  std::string data = "grid25";  // ring8 | grid25 | swissroll, or an image dataset: mnist | cifar10 | folder | stacked_mnist
  std::string data_path;        // image datasets: the folder (or CIFAR-10 batch file) to read
  // stacked_mnist: how many 3-digit images to draw from the MNIST digits (0 = as many as there are digits; the
  // PacGAN/VEEGAN protocol uses 128,000). Other data: must stay 0.
  int64_t stacked_images = 0;
  std::string model = "mlp2d";  // mlp2d (sizes in `mlp`) for 2-D data, dcgan (sizes in `image`) for images
  Mlp2dSpec mlp = {.noise_dim = 2, .g_hidden = 128, .g_layers = 4, .g_batchnorm = true, .d_hidden = 128,
                   .d_pieces = 5, .d_layers = 3, .pack = 1};
  ImageGanSpec image = {.image_size = 28, .channels = 1, .nz = 100, .ngf = 64, .ndf = 64,
                        .d_norm = ImageNorm::BatchNorm};
  std::string loss = "nonsaturating";  // see gan_loss_names()
  std::string penalty = "none";        // see penalty_names()
  float lambda_gp = 10.f;              // WGAN-GP weight
  float gamma_r1 = 10.f;               // R1 weight
  float clip = 0.01f;                  // weight clipping bound
  float label_smoothing = 0.f;         // one-sided: real target 1 - s
  int64_t n_critic = 1;
  int64_t batch = 512;
  float lr_g = 2e-3f, lr_d = 2e-3f;
  float beta1 = 0.5f, beta2 = 0.999f;
  std::string lr_schedule = "linear";  // constant | linear (to lr_final_frac * lr at the last step)
  float lr_final_frac = 0.f;
  int64_t steps = 4000;  // generator steps
  uint64_t seed = 0;
  std::string device = "auto";  // auto | cpu | cuda
  int64_t log_every = 250;
  int64_t sample_every = 500;
  int64_t checkpoint_every = 1000;
  int64_t keep_checkpoints = 3;
  int64_t eval_samples = 2500;
  std::string out_dir = "runs";
  float ema_decay = 0.f;  // 0 = no EMA generator
  // A NaN/Inf loss or gradient (checked before every optimiser update; gan/RELIABILITY.md): stop | skip | rollback,
  // the learning-rate factor applied at each rollback, and how many rollbacks a run may make before giving up.
  std::string on_nan = "stop";
  float nan_lr_cut = 0.5f;
  int64_t nan_max_rollbacks = 3;
};

const std::vector<std::string>& preset_names();
const std::string& default_preset_name();
// Error naming the preset and listing the known ones.
TrainConfig preset_config(const std::string& name);

nlohmann::json to_json(const TrainConfig& c);
// Starts from `base` and applies every key of j. Unknown keys and wrong types throw Error naming `where` (the
// file) and the key. The result is validated.
TrainConfig config_from_json(const nlohmann::json& j, const TrainConfig& base, const std::string& where);
// Reads a JSON file: a missing file, bad JSON or a bad key throws Error naming the file. The file's keys override
// `base` when given, else the preset its "preset" key names (else the default preset).
TrainConfig load_config_file(const std::string& path, const TrainConfig* base = nullptr);
// The same on the file's text in memory (what load_config_file reads; fuzz/ drives it); `where` names the
// source in errors.
TrainConfig parse_config_text(const std::string& text, const std::string& where, const TrainConfig* base = nullptr);
// True for the image datasets (mnist, cifar10, folder, stacked_mnist); false for the 2-D mixtures.
bool is_image_data(const std::string& data);
const std::vector<std::string>& image_data_names();
// PacGAN's m of the run's critic: image.pack for image data, mlp.pack for the 2-D mixtures.
int64_t critic_pack(const TrainConfig& c);
// Checks ranges and names (loss, penalty, data, device, schedule), that the model family fits the data and the
// channel count fits the dataset; Error naming the field.
void validate(const TrainConfig& c);
// The model-shaping part of the config (data, model, and the mlp or image sizes) as JSON, for checkpoint compatibility checks.
nlohmann::json model_signature(const TrainConfig& c);
// "" when a and b describe the same models, else "mlp.g_hidden: 400 vs 256; data: grid25 vs ring8".
std::string model_differences(const TrainConfig& a, const TrainConfig& b);

}  // namespace ganglion
