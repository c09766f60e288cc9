// core/json_brief.h — a JSON value shortened for an error message. Readers of outside JSON (safetensors headers,
// config files) quote the offending value with this instead of dump(): dumping a deeply nested value recurses
// once per level and can overflow the stack, and a huge value would flood the message.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ganglion {

// Numbers, literals and strings (cut to 40 characters) as written; arrays and objects by kind only.
inline std::string json_brief(const nlohmann::json& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.size() > 40 ? s.substr(0, 40) + "..." : s;
}

}  // namespace ganglion
