// benchmarks/kernels/lab_util.h — what every kernel lab shares on the host side: the common flags, whether the
// GPU path runs (and the line saying why not), random inputs, validation error measures, the result tables
// (printed aligned, written as markdown with device, date, commit and command) and number formatting.
// GPU timing, the L2 flush and the measured ceilings are in lab_gpu.h (CUDA builds only).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace CLI {
class App;
}

namespace ganglion::lab {

struct LabOptions {
  std::string models;     // comma-separated model names (each lab sets its default)
  int64_t batch = 0;      // 0: each model's own batch
  int warmup = 5;         // untimed runs before timing
  int reps = 30;          // timed runs; the median is reported
  std::string out_dir;    // where <lab>.md is written; empty: no file
  bool cpu_only = false;  // skip the GPU path even when a GPU is usable
  uint64_t seed = 1234;   // inputs are drawn from this
  std::string command;    // the command line, for the result file
};

// Parses argv: the shared flags, plus what `extra` adds. Returns -1 to go on, else the exit code (0 after
// --help; 2 after bad input, with CLI11's message naming the flag printed to stderr).
int parse_options(const std::string& lab, const std::string& description, int argc, char** argv, LabOptions& o,
                  const std::function<void(CLI::App&)>& extra = {});

// Splits "a,b,c" (empty entries dropped).
std::vector<std::string> split_list(const std::string& s);

// True when the GPU path runs. Otherwise prints "no usable GPU (<why>): CUDA timings skipped" and returns false.
bool gpu_path(const LabOptions& o);

// n values uniform in [lo, hi), reproducible from seed.
std::vector<float> uniform(size_t n, uint64_t seed, float lo = -1.f, float hi = 1.f);

double median(std::vector<double> v);

// max_i |got_i - ref_i| / max_i |ref_i| over the pairs added: the error relative to the output's scale, so that
// elements near zero neither hide nor inflate it. A non-finite `got` makes it infinite.
class ErrorMeter {
 public:
  void add(double got, double ref);
  double rel() const;

 private:
  double max_err_ = 0, max_ref_ = 0;
  bool finite_ = true;
};
double max_rel_err(const std::vector<float>& got, const std::vector<float>& ref);

// Tolerances on max_rel_err: FP32 arithmetic against a reference, and TF32 (10-bit mantissa) operands.
constexpr double kTolFp32 = 1e-4;
constexpr double kTolTf32 = 1e-2;

// Counts validation failures; each failure prints a FAIL line naming what failed.
class Checks {
 public:
  // Returns "ok" or "FAIL" for a table cell.
  std::string record(const std::string& what, double err, double tol);
  int failures() const { return failures_; }

 private:
  int failures_ = 0;
};

class Table {
 public:
  explicit Table(std::vector<std::string> columns) : columns_(std::move(columns)) {}
  void add(std::vector<std::string> row);  // one cell per column
  std::string text() const;                // aligned, for the terminal
  std::string markdown() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// A lab's output: notes (method, ceilings, floors) and titled tables. print() writes it to stdout, tables last;
// write() puts it in <out_dir>/<lab>.md under a header with lab, device, date (UTC), commit and command.
struct Report {
  std::string lab, device;
  std::vector<std::string> notes;
  std::vector<std::pair<std::string, Table>> tables;
  void print() const;
  // Returns false (after saying why on stderr) when the file cannot be written.
  bool write(const LabOptions& o) const;
  // The end of every lab: print, write, a PASSED/FAILED line; the exit code (1 on a failed check or write).
  int finish(const LabOptions& o, const Checks& checks) const;
  // Adds a table of GPU timings titled "<what> (median of <reps>, L2 flushed)"; nothing when it has no rows.
  void add_gpu_table(const LabOptions& o, const Table& t, const std::string& what = "GPU");
};

// A lab's main after its options are parsed: runs body, and turns an exception into "<lab>: <what>" and exit 1.
int run_lab(const char* lab, const std::function<int()>& body);

// The commit: $GANGLION_COMMIT, else `git rev-parse --short HEAD` in the working directory, else "unknown".
std::string commit_id();
std::string utc_now();  // 2026-11-23T02:10:00Z

std::string fixed(double v, int digits);         // "12.35"
std::string sci(double v);                       // "3.2e-06"
std::string percent(double part, double whole);  // "41.2%" ("-" when whole is 0)

}  // namespace ganglion::lab
