// fuzz/fuzz_config.cpp — fuzzes the JSON run config (parse_config_text: JSON parsing, presets, keys, types and
// validation). A config that is accepted must also round-trip: its to_json form is accepted again, unchanged.
// Input: the file's text.
#include "fuzz/fuzz_input.h"
#include "gan/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ganglion;
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_only_errors([&] {
    TrainConfig c = parse_config_text(text, "fuzz.json");
    const nlohmann::json j = to_json(c);
    TrainConfig again = config_from_json(j, TrainConfig{}, "round trip");
    if (to_json(again) != j) __builtin_trap();
  });
  return 0;
}
