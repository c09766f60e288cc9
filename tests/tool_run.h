// tests/tool_run.h — running the `ganglion` program from a test: where it is (next to this test binary's build
// folder: ../tools/ganglion), a per-process scratch folder, and run(args) capturing exit status, stdout, stderr.
#pragma once
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace gtool {

inline std::filesystem::path tool_path() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "ganglion";
}

// A fresh folder <tmp>/<prefix>_<pid>, made on first use.
inline std::filesystem::path scratch(const std::string& prefix) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / (prefix + "_" + std::to_string(::getpid()));
  if (!fs::exists(d)) fs::create_directories(d);
  return d;
}

struct Run {
  int code = -1;
  std::string out, err;
};

// Runs `ganglion <args>` with stdout/stderr captured through files in `dir`.
inline Run run(const std::string& args, const std::filesystem::path& dir) {
  const std::filesystem::path out = dir / "stdout.txt", err = dir / "stderr.txt";
  // (Built with a stream: GCC 12 warns falsely (-Wrestrict) on the chain of std::string operator+ here.)
  std::ostringstream cmd;
  cmd << "'" << tool_path().string() << "' " << args << " >'" << out.string() << "' 2>'" << err.string() << "'";
  const int status = std::system(cmd.str().c_str());
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream f(p);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  };
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline int lines(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace gtool
