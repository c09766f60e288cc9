// gan/inspect.cpp — norms, power-iteration spectral norms and critic output statistics of a checkpoint.
#include "gan/inspect.h"

#include <cmath>
#include <sstream>

#include "core/autograd.h"
#include "core/ops.h"
#include "gan/data_source.h"
#include "gan/losses.h"
#include "gan/models.h"
#include "gan/penalty.h"
#include "gan/report.h"
#include "gan/trainer.h"

namespace ganglion {

double largest_singular_value(const Tensor& w, Generator& g, int iters) {
  if (w.dim() < 2) throw Error("largest_singular_value: expected a matrix, got " + shape_str(w.shape()));
  NoGradGuard ng;
  Tensor m = reshape(w.detach().contiguous_copy(), {w.size(0), -1});
  Tensor v = g.randn({m.size(1), 1}, m.device());
  double sigma = 0;
  for (int i = 0; i < iters; ++i) {
    Tensor u = matmul(m, v);
    double un = std::sqrt(static_cast<double>(sum(square(u)).item()));
    if (un == 0) return 0;
    u = mul_scalar(u, static_cast<float>(1 / un));
    v = matmul(m, u, /*trans_a=*/true);
    double vn = std::sqrt(static_cast<double>(sum(square(v)).item()));
    if (vn == 0) return 0;
    sigma = vn;  // ||W^T u|| with u the unit left vector
    v = mul_scalar(v, static_cast<float>(1 / vn));
  }
  return sigma;
}

namespace {
double norm(const Tensor& t) {
  if (!t.defined()) return 0;
  NoGradGuard ng;
  return std::sqrt(static_cast<double>(sum(square(t.detach())).item()));
}

OutputStats stats(const Tensor& t) {
  std::vector<float> v = t.to_vector();
  OutputStats s;
  if (v.empty()) return s;
  s.min = s.max = v[0];
  for (float x : v) s.mean += x, s.min = std::min<double>(s.min, x), s.max = std::max<double>(s.max, x);
  s.mean /= static_cast<double>(v.size());
  for (float x : v) s.std += (x - s.mean) * (x - s.mean);
  s.std = std::sqrt(s.std / static_cast<double>(v.size()));
  return s;
}
}  // namespace

InspectResult inspect_checkpoint(const Checkpoint& ck, int64_t batch, uint64_t seed, Device d) {
  const TrainConfig& c = ck.config;
  const int64_t pack = critic_pack(c);
  if (batch <= 0 || batch % pack != 0)
    throw Error("inspect: the batch must be a positive multiple of the packing " + std::to_string(pack));
  auto g = generator_from_checkpoint(ck, /*ema=*/false, d);
  g->train();
  Generator init(0);
  auto critic = make_critic(c, init);
  try {
    critic->load_state_dict(ck.part("D."));
  } catch (const Error& e) {
    throw Error("checkpoint '" + ck.path + "': " + e.what());
  }
  critic->to(d);
  Generator rng(seed);
  auto data = make_data_source(c, seed);
  GanLoss loss = parse_gan_loss(c.loss);
  Penalty pen = parse_penalty(c.penalty);

  InspectResult r;
  r.batch = batch;
  Tensor real = data->sample(batch, d);
  Tensor fake = (*g)(draw_noise(c, batch, rng, d));
  Tensor sr = (*critic)(real), sf = (*critic)(fake.detach());
  r.d_real = stats(sr);
  r.d_fake = stats(sf);
  Tensor ld = d_loss(loss, sr, sf, c.label_smoothing);
  if (pen == Penalty::GradientPenalty) ld = add(ld, wgan_gp(*critic, real, fake, c.lambda_gp, rng, pack));
  if (pen == Penalty::R1) ld = add(ld, r1_penalty(*critic, real, c.gamma_r1, pack));
  r.loss_d = ld.item();
  critic->zero_grad();
  ld.backward();
  auto d_grads = critic->named_parameters();
  std::vector<Tensor> dg;
  for (auto& [n, p] : d_grads) dg.push_back(p.grad());
  critic->zero_grad();
  g->zero_grad();
  Tensor lg = g_loss(loss, (*critic)(fake));
  r.loss_g = lg.item();
  lg.backward();

  Generator power(seed + 1);
  auto add_rows = [&](const char* model, const NamedTensors& params, const std::vector<Tensor>* grads) {
    for (size_t i = 0; i < params.size(); ++i) {
      const auto& [name, p] = params[i];
      LayerStats s{model, name, p.shape(), norm(p), norm(grads ? (*grads)[i] : p.grad()), -1};
      if (p.dim() >= 2) s.sigma_max = largest_singular_value(p, power);
      r.layers.push_back(s);
    }
  };
  add_rows("G", g->named_parameters(), nullptr);
  add_rows("D", d_grads, &dg);
  return r;
}

std::string inspect_html(const InspectResult& r, const Checkpoint& ck) {
  std::ostringstream o;
  o << "<!doctype html>\n<html><head><meta charset='utf-8'><title>ganglion inspect</title><style>body{font-family:"
       "sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #eee;"
       "text-align:right}td:first-child,td:nth-child(2){text-align:left}</style></head><body>\n";
  o << "<h1>" << html_escape(ck.path) << "</h1>\n<p>step " << ck.step << ", preset " << html_escape(ck.config.preset)
    << ", loss " << html_escape(ck.config.loss) << ", penalty " << html_escape(ck.config.penalty) << ", batch "
    << r.batch << "</p>\n";
  o << "<h2>Critic outputs</h2>\n<table><tr><th></th><th>mean</th><th>std</th><th>min</th><th>max</th></tr>\n";
  for (auto [label, s] : {std::pair{"D(x)", r.d_real}, std::pair{"D(G(z))", r.d_fake}})
    o << "<tr><td>" << label << "</td><td>" << s.mean << "</td><td>" << s.std << "</td><td>" << s.min << "</td><td>"
      << s.max << "</td></tr>\n";
  o << "</table>\n<p>loss_d " << r.loss_d << ", loss_g " << r.loss_g << "</p>\n";
  o << "<h2>Parameters</h2>\n<table><tr><th>model</th><th>parameter</th><th>shape</th><th>|w|</th><th>|grad|</th>"
       "<th>sigma_max</th></tr>\n";
  for (const auto& l : r.layers) {
    o << "<tr><td>" << l.model << "</td><td>" << html_escape(l.name) << "</td><td>" << shape_str(l.shape)
      << "</td><td>" << l.weight_norm << "</td><td>" << l.grad_norm << "</td><td>";
    if (l.sigma_max >= 0) o << l.sigma_max;
    o << "</td></tr>\n";
  }
  o << "</table></body></html>\n";
  return o.str();
}

}  // namespace ganglion
