// gan/config.cpp — TrainConfig <-> JSON, validation and the presets.
#include "gan/config.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "core/json_brief.h"
#include "gan/data2d.h"
#include "gan/losses.h"
#include "gan/penalty.h"

namespace ganglion {

using nlohmann::json;

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names = {"toy-grid25",    "toy-grid25-r1",       "toy-grid25-wgangp",
                                                  "toy-ring8-gan", "dcgan-mnist",         "wgangp-mnist",
                                                  "dcgan-stacked-mnist", "dcgan-cifar10", "dcgan-folder"};
  return names;
}

const std::string& default_preset_name() { return preset_names()[0]; }

TrainConfig preset_config(const std::string& name) {
  TrainConfig c;  // the defaults are the toy-grid25 recipe
  c.preset = name;
  if (name == "toy-grid25") {
  } else if (name == "toy-grid25-r1") {
    // The default recipe with an R1 penalty (gamma 1) on the real samples and a 3x longer decay: the row of
    // benchmarks/results/quality.md that reached PacGAN4's grid25 row (25 modes, 93.9 % HQ, reverse KL 0.007 over
    // 4 seeds); R1 holds the reverse KL near 0 and the longer schedule lifts HQ (gan/RECIPES.md).
    c.penalty = "r1";
    c.gamma_r1 = 1.f;
    c.steps = 12000;
  } else if (name == "toy-grid25-wgangp") {  // the PacGAN-sized WGAN-GP baseline (slow on a CPU)
    c.mlp.g_hidden = 400;
    c.mlp.d_hidden = 200;
    c.loss = "wasserstein";
    c.penalty = "gp";
    c.lambda_gp = 10.f;
    c.n_critic = 5;
    c.batch = 256;
    c.lr_g = c.lr_d = 1e-4f;
    c.beta1 = 0.5f;
    c.beta2 = 0.9f;
    c.lr_schedule = "constant";
    c.steps = 5000;
  } else if (name == "toy-ring8-gan") {
    c.data = "ring8";
    c.steps = 2000;
  } else if (name == "dcgan-mnist" || name == "wgangp-mnist" || name == "dcgan-stacked-mnist" ||
             name == "dcgan-cifar10" || name == "dcgan-folder") {
    // Image recipes (gan/RECIPES.md): DCGAN with non-saturating BCE and Adam 2e-4 (0.5, 0.999), batch 64, nz 100.
    c.model = "dcgan";
    c.data = name == "dcgan-cifar10" ? "cifar10" : name == "dcgan-folder" ? "folder" : "mnist";
    c.image = ImageGanSpec{.image_size = 28, .channels = 1, .nz = 100, .ngf = 32, .ndf = 32,
                           .d_norm = ImageNorm::BatchNorm};
    c.batch = 64;
    c.lr_g = c.lr_d = 2e-4f;
    c.beta1 = 0.5f;
    c.beta2 = 0.999f;
    c.lr_schedule = "constant";
    c.steps = 6000;  // about 4.5 minutes on 2 CPU cores (23 it/s); digits are recognisable by the end
    c.log_every = 100;
    c.sample_every = 500;
    c.checkpoint_every = 1000;
    if (name == "wgangp-mnist") {  // critic without batchnorm (the penalty is per sample), lambda 10, 5 critic steps
      c.loss = "wasserstein";
      c.penalty = "gp";
      c.lambda_gp = 10.f;
      c.n_critic = 5;
      c.image.d_norm = ImageNorm::None;
      c.lr_g = c.lr_d = 1e-4f;
      c.beta2 = 0.9f;
      c.steps = 4000;  // 5.4 it/s on 2 CPU cores: about 12 minutes
    }
    if (name == "dcgan-stacked-mnist") {
      // PacGAN's Table 2 task (three digits as three channels, 1,000 modes): the DCGAN twice as wide with an R1
      // penalty (gamma 1) on the real images, the recipe of benchmarks/results/quality.md that reached every mode
      // with KL <= 0.1 (the digit-frequency bias of the unpenalised critic shrinks: gan/RECIPES.md).
      c.data = "stacked_mnist";
      c.image.channels = 3;
      c.image.ngf = c.image.ndf = 64;
      c.penalty = "r1";
      c.gamma_r1 = 1.f;
      c.steps = 20000;
      c.sample_every = 1000;
      c.checkpoint_every = 2000;
    }
    if (name == "dcgan-cifar10" || name == "dcgan-folder") {
      c.image.image_size = name == "dcgan-cifar10" ? 32 : 64;
      c.image.channels = 3;
      c.image.ngf = c.image.ndf = 64;
      c.steps = 20000;
      c.log_every = 100;
      c.sample_every = 1000;
      c.checkpoint_every = 2000;
    }
  } else {
    std::string list;
    for (const auto& n : preset_names()) list += (list.empty() ? "" : ", ") + n;
    throw Error("unknown preset '" + name + "' (known presets: " + list + ")");
  }
  return c;
}

namespace {
// A float as the double its shortest decimal form denotes, so JSON shows 0.002 rather than 0.0020000000949949.
double clean(float v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.7g", static_cast<double>(v));
  return std::strtod(b, nullptr);
}
}  // namespace

json to_json(const TrainConfig& c) {
  const Mlp2dSpec& m = c.mlp;
  const ImageGanSpec& im = c.image;
  return json{{"preset", c.preset},
              {"data", c.data},
              {"data_path", c.data_path},
              {"stacked_images", c.stacked_images},
              {"model", c.model},
              {"image",
               {{"image_size", im.image_size},
                {"channels", im.channels},
                {"nz", im.nz},
                {"ngf", im.ngf},
                {"ndf", im.ndf},
                {"d_norm", image_norm_names()[static_cast<size_t>(im.d_norm)]},
                {"pack", im.pack}}},
              {"mlp",
               {{"noise_dim", m.noise_dim},
                {"g_hidden", m.g_hidden},
                {"g_layers", m.g_layers},
                {"g_batchnorm", m.g_batchnorm},
                {"d_hidden", m.d_hidden},
                {"d_pieces", m.d_pieces},
                {"d_layers", m.d_layers},
                {"pack", m.pack},
                {"g_output_scale", clean(m.g_output_scale)},
                {"d_input_scale", clean(m.d_input_scale)}}},
              {"loss", c.loss},
              {"penalty", c.penalty},
              {"lambda_gp", clean(c.lambda_gp)},
              {"gamma_r1", clean(c.gamma_r1)},
              {"clip", clean(c.clip)},
              {"label_smoothing", clean(c.label_smoothing)},
              {"n_critic", c.n_critic},
              {"batch", c.batch},
              {"lr_g", clean(c.lr_g)},
              {"lr_d", clean(c.lr_d)},
              {"beta1", clean(c.beta1)},
              {"beta2", clean(c.beta2)},
              {"lr_schedule", c.lr_schedule},
              {"lr_final_frac", clean(c.lr_final_frac)},
              {"steps", c.steps},
              {"seed", c.seed},
              {"device", c.device},
              {"log_every", c.log_every},
              {"sample_every", c.sample_every},
              {"checkpoint_every", c.checkpoint_every},
              {"keep_checkpoints", c.keep_checkpoints},
              {"eval_samples", c.eval_samples},
              {"out_dir", c.out_dir},
              {"ema_decay", clean(c.ema_decay)},
              {"on_nan", c.on_nan},
              {"nan_lr_cut", clean(c.nan_lr_cut)},
              {"nan_max_rollbacks", c.nan_max_rollbacks}};
}

namespace {

// Reads j[key] into v when present; a wrong type becomes an Error naming where and the key.
template <class T>
void take(const json& j, const char* key, T& v, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) return;
  try {
    if constexpr (std::is_same_v<T, bool>) {
      if (!it->is_boolean()) throw Error("expected true or false");
    } else if constexpr (std::is_arithmetic_v<T>) {
      if (!it->is_number()) throw Error("expected a number");
      if constexpr (std::is_integral_v<T>)
        if (!it->is_number_integer() && !it->is_number_unsigned()) throw Error("expected an integer");
      if constexpr (std::is_unsigned_v<T>)
        if (!it->is_number_unsigned() && it->get<int64_t>() < 0) throw Error("expected a non-negative integer");
      if constexpr (std::is_integral_v<T> && std::is_signed_v<T>)
        if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max()))
          throw Error("integer out of range");
      if constexpr (std::is_floating_point_v<T>)  // it would become infinity and pass the range checks
        if (std::abs(it->get<double>()) > static_cast<double>(std::numeric_limits<T>::max()))
          throw Error("number out of range for a 32-bit float");
    } else {
      if (!it->is_string()) throw Error("expected a string");
    }
    v = it->get<T>();
  } catch (const std::exception& e) {
    throw Error(where + ": key '" + key + "': " + e.what() + ", got " + json_brief(*it));
  }
}

void reject_unknown(const json& j, const json& known, const std::string& where, const std::string& prefix) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.contains(it.key())) throw Error(where + ": unknown key '" + prefix + it.key() + "'");
}

std::string one_of(const std::string& v, const std::vector<std::string>& names, const char* field) {
  for (const auto& n : names)
    if (n == v) return v;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw Error("config: " + std::string(field) + " '" + v + "' is not one of: " + list);
}

}  // namespace

TrainConfig config_from_json(const json& j, const TrainConfig& base, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object at the top level");
  const json known = to_json(base);
  reject_unknown(j, known, where, "");
  TrainConfig c = base;
  take(j, "preset", c.preset, where);
  take(j, "data", c.data, where);
  take(j, "data_path", c.data_path, where);
  take(j, "stacked_images", c.stacked_images, where);
  take(j, "model", c.model, where);
  if (j.contains("image")) {
    const json& m = j["image"];
    if (!m.is_object()) throw Error(where + ": key 'image' must be an object");
    reject_unknown(m, known["image"], where, "image.");
    take(m, "image_size", c.image.image_size, where);
    take(m, "channels", c.image.channels, where);
    take(m, "nz", c.image.nz, where);
    take(m, "ngf", c.image.ngf, where);
    take(m, "ndf", c.image.ndf, where);
    take(m, "pack", c.image.pack, where);
    std::string norm = image_norm_names()[static_cast<size_t>(c.image.d_norm)];
    take(m, "d_norm", norm, where);
    try {
      c.image.d_norm = parse_image_norm(norm);
    } catch (const Error& e) {
      throw Error(where + ": key 'image.d_norm': " + e.what());
    }
  }
  if (j.contains("mlp")) {
    const json& m = j["mlp"];
    if (!m.is_object()) throw Error(where + ": key 'mlp' must be an object");
    reject_unknown(m, known["mlp"], where, "mlp.");
    take(m, "noise_dim", c.mlp.noise_dim, where);
    take(m, "g_hidden", c.mlp.g_hidden, where);
    take(m, "g_layers", c.mlp.g_layers, where);
    take(m, "g_batchnorm", c.mlp.g_batchnorm, where);
    take(m, "d_hidden", c.mlp.d_hidden, where);
    take(m, "d_pieces", c.mlp.d_pieces, where);
    take(m, "d_layers", c.mlp.d_layers, where);
    take(m, "pack", c.mlp.pack, where);
    take(m, "g_output_scale", c.mlp.g_output_scale, where);
    take(m, "d_input_scale", c.mlp.d_input_scale, where);
  }
  take(j, "loss", c.loss, where);
  take(j, "penalty", c.penalty, where);
  take(j, "lambda_gp", c.lambda_gp, where);
  take(j, "gamma_r1", c.gamma_r1, where);
  take(j, "clip", c.clip, where);
  take(j, "label_smoothing", c.label_smoothing, where);
  take(j, "n_critic", c.n_critic, where);
  take(j, "batch", c.batch, where);
  take(j, "lr_g", c.lr_g, where);
  take(j, "lr_d", c.lr_d, where);
  take(j, "beta1", c.beta1, where);
  take(j, "beta2", c.beta2, where);
  take(j, "lr_schedule", c.lr_schedule, where);
  take(j, "lr_final_frac", c.lr_final_frac, where);
  take(j, "steps", c.steps, where);
  take(j, "seed", c.seed, where);
  take(j, "device", c.device, where);
  take(j, "log_every", c.log_every, where);
  take(j, "sample_every", c.sample_every, where);
  take(j, "checkpoint_every", c.checkpoint_every, where);
  take(j, "keep_checkpoints", c.keep_checkpoints, where);
  take(j, "eval_samples", c.eval_samples, where);
  take(j, "out_dir", c.out_dir, where);
  take(j, "ema_decay", c.ema_decay, where);
  take(j, "on_nan", c.on_nan, where);
  take(j, "nan_lr_cut", c.nan_lr_cut, where);
  take(j, "nan_max_rollbacks", c.nan_max_rollbacks, where);
  try {
    validate(c);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  return c;
}

TrainConfig parse_config_text(const std::string& text, const std::string& where, const TrainConfig* given_base) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(where + " is not valid JSON: " + e.what());
  }
  TrainConfig base = given_base ? *given_base : preset_config(default_preset_name());
  if (!given_base && j.is_object() && j.contains("preset")) {
    if (!j["preset"].is_string()) throw Error(where + ": key 'preset': expected a string");
    try {
      base = preset_config(j["preset"].get<std::string>());
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
  return config_from_json(j, base, where);
}

TrainConfig load_config_file(const std::string& path, const TrainConfig* given_base) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot open config file '" + path + "'");
  std::ostringstream text;
  text << f.rdbuf();
  if (f.bad()) throw Error("cannot read config file '" + path + "'");
  return parse_config_text(text.str(), "config file '" + path + "'", given_base);
}

const std::vector<std::string>& image_data_names() {
  static const std::vector<std::string> names = {"mnist", "cifar10", "folder", "stacked_mnist"};
  return names;
}

int64_t critic_pack(const TrainConfig& c) { return is_image_data(c.data) ? c.image.pack : c.mlp.pack; }

bool is_image_data(const std::string& data) {
  for (const auto& n : image_data_names())
    if (n == data) return true;
  return false;
}

void validate(const TrainConfig& c) {
  std::vector<std::string> all_data = mixture2d_names();
  all_data.insert(all_data.end(), image_data_names().begin(), image_data_names().end());
  one_of(c.data, all_data, "data");
  one_of(c.model, {"mlp2d", "dcgan"}, "model");
  validate(c.mlp);
  validate(c.image);
  const bool image = is_image_data(c.data);
  if (image != (c.model == "dcgan"))
    throw Error("config: model '" + c.model + "' does not fit data '" + c.data + "' (" +
                (image ? "image data needs model dcgan" : "2-D data needs model mlp2d") + ")");
  if (image) {
    const int64_t need = c.data == "mnist" ? 1 : c.data == "folder" ? 0 : 3;
    if ((need && c.image.channels != need) || (!need && c.image.channels != 1 && c.image.channels != 3))
      throw Error("config: channels (--channels, image.channels) " + std::to_string(c.image.channels) +
                  " does not fit data '" + c.data + "' (" +
                  (need ? "its images have " + std::to_string(need) : "expected 1 or 3") + ")");
    if (c.mlp.pack != 1)
      throw Error("config: mlp.pack must be 1 for image models (an image critic's packing is image.pack)");
  } else if (c.image.pack != 1) {
    throw Error("config: image.pack must be 1 for 2-D models (a 2-D critic's packing is mlp.pack)");
  }
  if (c.stacked_images < 0 || c.stacked_images > kMaxStackedImages)
    throw Error("config: stacked_images (--stacked-images) must be in [0, " + std::to_string(kMaxStackedImages) +
                "], got " + std::to_string(c.stacked_images));
  if (c.stacked_images != 0 && c.data != "stacked_mnist")
    throw Error("config: stacked_images (--stacked-images) is for data stacked_mnist, not '" + c.data + "'");
  parse_gan_loss(c.loss);
  parse_penalty(c.penalty);
  one_of(c.device, {"auto", "cpu", "cuda"}, "device");
  one_of(c.lr_schedule, {"constant", "linear"}, "lr_schedule");
  auto positive = [](int64_t v, const char* f) {
    if (v <= 0) throw Error(std::string("config: ") + f + " must be positive, got " + std::to_string(v));
  };
  positive(c.n_critic, "n_critic");
  positive(c.batch, "batch");
  positive(c.steps, "steps");
  positive(c.log_every, "log_every");
  positive(c.sample_every, "sample_every");
  positive(c.checkpoint_every, "checkpoint_every");
  positive(c.keep_checkpoints, "keep_checkpoints");
  positive(c.eval_samples, "eval_samples");
  if (c.batch % critic_pack(c) != 0)
    throw Error("config: batch " + std::to_string(c.batch) + " is not a multiple of " +
                (image ? "image.pack " : "mlp.pack ") + std::to_string(critic_pack(c)) + " (--pack)");
  if (!(c.lr_g > 0) || !(c.lr_d > 0)) throw Error("config: lr_g and lr_d must be positive");
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1))
    throw Error("config: beta1 and beta2 must be in [0, 1)");
  if (!(c.ema_decay >= 0 && c.ema_decay < 1)) throw Error("config: ema_decay must be in [0, 1)");
  if (!(c.label_smoothing >= 0 && c.label_smoothing < 1)) throw Error("config: label_smoothing must be in [0, 1)");
  if (!(c.lr_final_frac >= 0)) throw Error("config: lr_final_frac must be >= 0");
  if (c.out_dir.empty()) throw Error("config: out_dir must not be empty");
  one_of(c.on_nan, {"stop", "skip", "rollback"}, "on_nan");
  if (!(c.nan_lr_cut > 0 && c.nan_lr_cut <= 1))
    throw Error("config: nan_lr_cut (--nan-lr-cut) must be in (0, 1], got " + std::to_string(c.nan_lr_cut));
  if (c.nan_max_rollbacks < 0)
    throw Error("config: nan_max_rollbacks (--nan-max-rollbacks) must be >= 0, got " +
                std::to_string(c.nan_max_rollbacks));
}

json model_signature(const TrainConfig& c) {
  json j = to_json(c);
  const char* sizes = c.model == "dcgan" ? "image" : "mlp";
  return json{{"data", j["data"]}, {"model", j["model"]}, {sizes, j[sizes]}};
}

std::string model_differences(const TrainConfig& a, const TrainConfig& b) {
  json fa = model_signature(a).flatten(), fb = model_signature(b).flatten();
  std::string out;
  for (auto it = fa.begin(); it != fa.end(); ++it) {
    json other = fb.contains(it.key()) ? fb[it.key()] : json();
    if (other != it.value()) {
      std::string key = it.key().substr(1);
      for (auto& ch : key)
        if (ch == '/') ch = '.';
      out += (out.empty() ? "" : "; ") + key + ": " + it.value().dump() + " vs " + other.dump();
    }
  }
  return out;
}

}  // namespace ganglion
