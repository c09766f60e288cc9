// gan/report.cpp — report.html: SVG charts from metrics.jsonl, the sample images and the final numbers.
#include "gan/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kernels/common.h"

namespace ganglion {

namespace fs = std::filesystem;

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {
std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}
}  // namespace

std::string svg_line_chart(const std::string& title, const std::vector<Series>& series, int width, int height) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  std::ostringstream o;
  o << "<figure><figcaption>" << html_escape(title) << "</figcaption>\n<svg xmlns='http://www.w3.org/2000/svg' width='"
    << width << "' height='" << height << "' viewBox='0 0 " << width << " " << height << "'>\n";
  o << "<rect width='100%' height='100%' fill='white' stroke='#ccc'/>\n";
  if (!std::isfinite(x0)) {
    o << "<text x='10' y='20' font-size='12'>no data</text></svg></figure>\n";
    return o.str();
  }
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  const double L = 56, R = 10, T = 10, B = 36;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (width - L - R); };
  auto py = [&](double y) { return T + (y1 - y) / (y1 - y0) * (height - T - B); };
  o << "<line x1='" << L << "' y1='" << height - B << "' x2='" << width - R << "' y2='" << height - B
    << "' stroke='#888'/>\n<line x1='" << L << "' y1='" << T << "' x2='" << L << "' y2='" << height - B
    << "' stroke='#888'/>\n";
  o << "<text x='" << L - 4 << "' y='" << T + 10 << "' font-size='11' text-anchor='end'>" << num(y1) << "</text>\n";
  o << "<text x='" << L - 4 << "' y='" << height - B << "' font-size='11' text-anchor='end'>" << num(y0)
    << "</text>\n";
  o << "<text x='" << L << "' y='" << height - B + 14 << "' font-size='11'>" << num(x0) << "</text>\n";
  o << "<text x='" << width - R << "' y='" << height - B + 14 << "' font-size='11' text-anchor='end'>" << num(x1)
    << "</text>\n";
  double lx = L + 8;
  for (const auto& s : series) {
    o << "<polyline fill='none' stroke='" << s.color << "' stroke-width='1.5' points='";
    for (auto [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) o << num(px(x)) << "," << num(py(y)) << " ";
    o << "'/>\n<text x='" << lx << "' y='" << height - 6 << "' font-size='12' fill='" << s.color << "'>"
      << html_escape(s.label) << "</text>\n";
    lx += 12 + 8 * static_cast<double>(s.label.size());
  }
  o << "</svg></figure>\n";
  return o.str();
}

std::string write_report(const std::string& run_dir) {
  const fs::path dir(run_dir);
  std::vector<nlohmann::json> rows;
  {
    std::ifstream in(dir / "metrics.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      try {
        rows.push_back(nlohmann::json::parse(line));
      } catch (const std::exception&) {
      }
    }
  }
  auto series = [&](const char* key, const char* label, const char* color, double scale = 1.0) {
    Series s{label, color, {}};
    for (const auto& r : rows)
      if (r.contains(key) && r[key].is_number()) s.points.emplace_back(r["step"].get<double>(), scale * r[key].get<double>());
    return s;
  };
  std::ostringstream o;
  o << "<!doctype html>\n<html><head><meta charset='utf-8'><title>Ganglion run " << html_escape(dir.filename().string())
    << "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1200px}figure{display:inline-block;"
       "margin:0 1em 1em 0}img{border:1px solid #ccc}table{border-collapse:collapse}td,th{padding:2px 8px;"
       "border-bottom:1px solid #eee;text-align:left}pre{background:#f6f6f6;padding:1em}</style></head><body>\n";
  o << "<h1>Ganglion run: " << html_escape(dir.filename().string()) << "</h1>\n";
  std::ifstream fin(dir / "final.json");
  if (fin) {
    try {
      nlohmann::json f = nlohmann::json::parse(fin);
      o << "<h2>Final metrics</h2>\n<table>\n";
      for (auto it = f.begin(); it != f.end(); ++it) {
        std::string v = it.value().dump();
        if (it.key() == "hq" && it.value().is_number()) v = num(100 * it.value().get<double>()) + " %";
        o << "<tr><th>" << html_escape(it.key()) << "</th><td>" << html_escape(v) << "</td></tr>\n";
      }
      o << "</table>\n";
    } catch (const std::exception&) {
    }
  }
  o << "<h2>Training curves</h2>\n";
  o << svg_line_chart("losses", {series("loss_d", "loss_d", "#1f77b4"), series("loss_g", "loss_g", "#d62728")});
  o << svg_line_chart("critic outputs", {series("d_real", "D(x)", "#2ca02c"), series("d_fake", "D(G(z))", "#ff7f0e")});
  if (!rows.empty() && rows.back().contains("penalty"))
    o << svg_line_chart("critic penalty (part of loss_d)", {series("penalty", "penalty", "#7f7f7f")});
  if (!rows.empty() && rows.back().contains("hq")) {
    o << svg_line_chart("high-quality samples (%)", {series("hq", "hq %", "#9467bd", 100.0)});
    o << svg_line_chart("modes captured", {series("modes", "modes", "#8c564b")});
    o << svg_line_chart("reverse KL of the mode histogram", {series("rkl", "KL", "#17becf")});
  }
  std::vector<std::string> pngs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir / "samples", ec))
    if (e.path().extension() == ".png") pngs.push_back(e.path().filename().string());
  std::sort(pngs.begin(), pngs.end());
  if (!pngs.empty()) {
    o << "<h2>Samples from fixed noise</h2>\n";
    for (const auto& p : pngs)
      o << "<figure><img src='samples/" << html_escape(p) << "' width='240'><figcaption>" << html_escape(p)
        << "</figcaption></figure>\n";
  }
  std::ifstream cin_(dir / "config.json");
  if (cin_) {
    std::stringstream ss;
    ss << cin_.rdbuf();
    o << "<h2>Configuration</h2>\n<pre>" << html_escape(ss.str()) << "</pre>\n";
  }
  o << "</body></html>\n";
  const fs::path out = dir / "report.html";
  std::ofstream f(out);
  f << o.str();
  if (!f) throw Error("cannot write report '" + out.string() + "'");
  return out.string();
}

}  // namespace ganglion
