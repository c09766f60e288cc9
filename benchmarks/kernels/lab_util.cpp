// benchmarks/kernels/lab_util.cpp — the host-side helpers of the kernel labs (see lab_util.h).
#include "benchmarks/kernels/lab_util.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "kernels/device.h"

namespace ganglion::lab {

int parse_options(const std::string& lab, const std::string& description, int argc, char** argv, LabOptions& o,
                  const std::function<void(CLI::App&)>& extra) {
  CLI::App app(description, lab);
  app.add_option("--models", o.models, "comma-separated models")->capture_default_str();
  app.add_option("--batch", o.batch, "batch size (0: each model's own)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  app.add_option("--warmup", o.warmup, "untimed runs before timing")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  app.add_option("--reps", o.reps, "timed runs (the median is reported)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--out-dir", o.out_dir, "write <lab>.md with the tables into this folder");
  app.add_flag("--cpu-only", o.cpu_only, "run the CPU reference path even when a GPU is usable");
  app.add_option("--seed", o.seed, "seed of the random inputs")->capture_default_str();
  if (extra) extra(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  o.command.clear();
  for (int i = 0; i < argc; ++i) {
    if (i) o.command += ' ';
    o.command += argv[i];
  }
  return -1;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

bool gpu_path(const LabOptions& o) {
  std::string why;
  if (o.cpu_only)
    why = "--cpu-only given";
  else if (cuda::available(&why))
    return true;
  std::printf("no usable GPU (%s): CUDA timings skipped\n", why.c_str());
  return false;
}

std::vector<float> uniform(size_t n, uint64_t seed, float lo, float hi) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

void ErrorMeter::add(double got, double ref) {
  if (!std::isfinite(got)) finite_ = false;
  max_err_ = std::max(max_err_, std::fabs(got - ref));
  max_ref_ = std::max(max_ref_, std::fabs(ref));
}

double ErrorMeter::rel() const {
  if (!finite_) return INFINITY;
  return max_ref_ > 0 ? max_err_ / max_ref_ : max_err_;
}

double max_rel_err(const std::vector<float>& got, const std::vector<float>& ref) {
  if (got.size() != ref.size()) return INFINITY;
  ErrorMeter m;
  for (size_t i = 0; i < got.size(); ++i) m.add(got[i], ref[i]);
  return m.rel();
}

std::string Checks::record(const std::string& what, double err, double tol) {
  if (err <= tol) return "ok";  // NaN compares false: a failure
  ++failures_;
  std::printf("FAIL %s: max rel err %s > tolerance %s\n", what.c_str(), sci(err).c_str(), sci(tol).c_str());
  return "FAIL";
}

void Table::add(std::vector<std::string> row) {
  row.resize(columns_.size());
  rows_.push_back(std::move(row));
}

std::string Table::text() const {
  std::vector<size_t> width(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    width[c] = columns_[c].size();
    for (const auto& r : rows_) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) {
      s += cells[c] + std::string(width[c] - cells[c].size(), ' ');
      s += c + 1 < cells.size() ? "  " : "";
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(columns_);
  for (const auto& r : rows_) out += line(r);
  return out;
}

std::string Table::markdown() const {
  auto line = [](const std::vector<std::string>& cells) {
    std::string s = "|";
    for (const auto& c : cells) s += " " + c + " |";
    return s + "\n";
  };
  std::string out = line(columns_) + "|";
  for (size_t c = 0; c < columns_.size(); ++c) out += "---|";
  out += "\n";
  for (const auto& r : rows_) out += line(r);
  return out;
}

void Report::print() const {
  for (const auto& n : notes) std::printf("%s\n", n.c_str());
  for (const auto& [title, table] : tables) std::printf("\n== %s\n%s", title.c_str(), table.text().c_str());
  std::fflush(stdout);
}

bool Report::write(const LabOptions& o) const {
  if (o.out_dir.empty()) return true;
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  const std::string path = (std::filesystem::path(o.out_dir) / (lab + ".md")).string();
  std::ofstream f(path);
  if (!f) {
    std::fprintf(stderr, "%s lab: cannot write %s (--out-dir %s)\n", lab.c_str(), path.c_str(), o.out_dir.c_str());
    return false;
  }
  f << "# Kernel lab: " << lab << "\n\n";
  f << "- device: " << device << "\n- date: " << utc_now() << "\n- commit: " << commit_id() << "\n- command: `"
    << o.command << "`\n\n";
  for (const auto& n : notes) f << n << "  \n";
  for (const auto& [title, table] : tables) f << "\n## " << title << "\n\n" << table.markdown();
  f.close();
  if (!f) {
    std::fprintf(stderr, "%s lab: writing %s failed\n", lab.c_str(), path.c_str());
    return false;
  }
  std::printf("wrote %s\n", path.c_str());
  return true;
}

std::string commit_id() {
  if (const char* env = std::getenv("GANGLION_COMMIT"); env != nullptr && *env != '\0') return env;
  std::string out;
  if (FILE* p = popen("git rev-parse --short HEAD 2>/dev/null", "r")) {
    std::array<char, 128> buf{};
    while (std::fgets(buf.data(), static_cast<int>(buf.size()), p) != nullptr) out += buf.data();
    pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out.empty() ? "unknown" : out;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string sci(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1e", v);
  return buf;
}

std::string percent(double part, double whole) {
  if (whole <= 0) return "-";
  return fixed(100.0 * part / whole, 1) + "%";
}

}  // namespace ganglion::lab

namespace ganglion::lab {

void Report::add_gpu_table(const LabOptions& o, const Table& t, const std::string& what) {
  if (!t.empty()) tables.emplace_back(what + " (median of " + std::to_string(o.reps) + ", L2 flushed)", t);
}

int Report::finish(const LabOptions& o, const Checks& checks) const {
  print();
  const bool wrote = write(o);
  std::printf("%s: %d validation failure(s)\n", checks.failures() ? "FAILED" : "PASSED", checks.failures());
  return checks.failures() || !wrote ? 1 : 0;
}

int run_lab(const char* lab, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", lab, e.what());
    return 1;
  }
}

}  // namespace ganglion::lab
