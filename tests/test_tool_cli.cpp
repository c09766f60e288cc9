// tests/test_tool_cli.cpp — the `ganglion` program end to end (found next to this test binary's build folder:
// ../tools/ganglion): a tiny train, resume, eval and sample, and the clear one-line errors with non-zero exit for
// an unknown preset, a bad flag, a missing or corrupt checkpoint, and a bad config file; and an image run on tiny
// IDX data (sample grid, --count, --interpolate; missing --data-path folder, truncated IDX, wrong --channels).
#include <catch2/catch.hpp>
#include <stb_image.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "mnist_test_data.h"
#include "tool_run.h"

namespace fs = std::filesystem;

namespace {
using gtool::lines;
using gtool::Run;
using gtool::tool_path;
fs::path scratch() { return gtool::scratch("ganglion_cli"); }
Run run(const std::string& args) { return gtool::run(args, scratch()); }

const std::string kTiny =
    "--data ring8 --steps 4 --batch 32 --g-hidden 16 --g-layers 2 --d-hidden 8 --d-pieces 2 --n-critic 1 "
    "--log-every 2 --sample-every 2 --checkpoint-every 2 --device cpu -q";
}  // namespace

TEST_CASE("ganglion: bad input gives one clear error line and a non-zero exit", "[tool][cli]") {
  REQUIRE(fs::exists(tool_path()));
  Run r = run("train --preset nope");
  CHECK(r.code != 0);
  CHECK(r.err.find("unknown preset 'nope'") != std::string::npos);
  CHECK(lines(r.err) == 1);

  r = run("train --bogus");
  CHECK(r.code == 2);
  CHECK(r.err.find("--bogus") != std::string::npos);
  CHECK(lines(r.err) == 1);

  r = run("frobnicate");
  CHECK(r.code == 2);

  r = run("sample " + (scratch() / "missing").string());
  CHECK(r.code == 1);
  CHECK(r.err.find("missing' does not exist") != std::string::npos);

  fs::path corrupt = scratch() / "corrupt.safetensors";
  std::ofstream(corrupt) << "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":";
  r = run("eval " + corrupt.string());
  CHECK(r.code == 1);
  CHECK(r.err.find("corrupt.safetensors") != std::string::npos);
  CHECK(lines(r.err) == 1);

  r = run("train --config " + (scratch() / "none.json").string());
  CHECK(r.code == 1);
  CHECK(r.err.find("cannot open config file") != std::string::npos);

  fs::path bad = scratch() / "bad.json";
  std::ofstream(bad) << R"({"steps": "many"})";
  r = run("train --config " + bad.string());
  CHECK(r.code == 1);
  CHECK(r.err.find("bad.json") != std::string::npos);
  CHECK(r.err.find("'steps'") != std::string::npos);

  std::ofstream(scratch() / "typo.json") << R"({"stepz": 3})";
  r = run("train --config " + (scratch() / "typo.json").string());
  CHECK(r.code == 1);
  CHECK(r.err.find("unknown key 'stepz'") != std::string::npos);

  std::ofstream(scratch() / "broken.json") << "{";
  r = run("train --config " + (scratch() / "broken.json").string());
  CHECK(r.code == 1);
  CHECK(r.err.find("not valid JSON") != std::string::npos);

  CHECK(run("train --help").code == 0);
  CHECK(run("inspect --help").code == 0);
}

TEST_CASE("ganglion: train, resume, eval, sample and inspect a tiny run", "[tool][cli]") {
  REQUIRE(fs::exists(tool_path()));
  fs::path dir = scratch() / "run";
  Run r = run("train " + kTiny + " --run-dir " + dir.string());
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("report: ") != std::string::npos);
  CHECK(r.out.find("modes ") != std::string::npos);
  CHECK(fs::exists(dir / "report.html"));

  r = run("train --resume " + dir.string() + " --steps 6 -q");
  CHECK(r.code == 0);
  CHECK(r.out.find("resuming") != std::string::npos);
  CHECK(fs::exists(dir / "checkpoints" / "step_00000006.safetensors"));

  r = run("train --resume " + dir.string() + " --batch 64");
  CHECK(r.code == 1);
  CHECK(r.err.find("--batch") != std::string::npos);

  r = run("eval " + dir.string() + " --seeds 2 -n 100 --json");
  CHECK(r.code == 0);
  CHECK(r.out.find("\"modes_total\": 8") != std::string::npos);

  fs::path csv = scratch() / "s.csv";
  r = run("sample " + dir.string() + " --format csv -n 10 -o " + csv.string());
  CHECK(r.code == 0);
  std::ifstream f(csv);
  std::stringstream s;
  s << f.rdbuf();
  CHECK(lines(s.str()) == 11);
  r = run("sample " + dir.string() + " -o " + (scratch() / "s.png").string());
  CHECK(r.code == 0);
  CHECK(fs::file_size(scratch() / "s.png") > 100);

  fs::path html = scratch() / "inspect.html";
  r = run("inspect " + dir.string() + " --html " + html.string());
  CHECK(r.code == 0);
  CHECK(r.out.find("sigma_max") != std::string::npos);
  CHECK(fs::exists(html));
  fs::remove_all(scratch());
}

TEST_CASE("ganglion: an image run on tiny IDX data, its samples, and bad image inputs", "[tool][cli][image]") {
  REQUIRE(fs::exists(tool_path()));
  fs::create_directories(scratch() / "mnist");
  gtest::write_mnist(scratch() / "mnist", 40, true);
  const std::string tiny = "--preset dcgan-mnist --device cpu --nz 8 --ngf 4 --ndf 4 --batch 16 --steps 2 -q ";
  fs::path dir = scratch() / "imgrun";
  Run r = run("train " + tiny + "--data-path " + (scratch() / "mnist").string() + " --run-dir " + dir.string());
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("40 images 1x28x28") != std::string::npos);
  CHECK(fs::exists(dir / "samples" / "step_00000002.png"));

  auto size = [](const fs::path& p) {
    int w = 0, h = 0, c = 0;
    return stbi_info(p.string().c_str(), &w, &h, &c) ? std::pair<int, int>{w, h} : std::pair<int, int>{0, 0};
  };
  r = run("sample " + dir.string() + " -n 16 -o " + (scratch() / "grid.png").string());
  CHECK(r.code == 0);
  CHECK(size(scratch() / "grid.png") == std::pair<int, int>{4 * 30 + 2, 4 * 30 + 2});
  r = run("sample " + dir.string() + " --count 3 -o " + (scratch() / "each").string());
  CHECK(r.code == 0);
  CHECK(size(scratch() / "each" / "sample_00002.png") == std::pair<int, int>{28, 28});
  r = run("sample " + dir.string() + " --interpolate -n 2 --frames 5 -o " + (scratch() / "lerp.png").string());
  CHECK(r.code == 0);
  CHECK(size(scratch() / "lerp.png") == std::pair<int, int>{5 * 30 + 2, 2 * 30 + 2});

  r = run("train " + tiny + "--data-path " + (scratch() / "nowhere").string());
  CHECK(r.code == 1);
  CHECK(r.err.find("--data-path") != std::string::npos);
  CHECK(r.err.find("nowhere") != std::string::npos);
  r = run("train " + tiny + "--data-path " + (scratch() / "mnist").string() + " --channels 3");
  CHECK(r.code == 1);
  CHECK(r.err.find("channels") != std::string::npos);
  fs::create_directories(scratch() / "cut");
  gtest::write_mnist(scratch() / "cut", 10, false, 16 + 28 * 28 * 3 + 5);
  r = run("train " + tiny + "--data-path " + (scratch() / "cut").string());
  CHECK(r.code == 1);
  CHECK(r.err.find("train-images-idx3-ubyte") != std::string::npos);
  CHECK(lines(r.err) == 1);
  fs::remove_all(scratch());
}
