// tools/cmd_inspect.cpp — `ganglion inspect` (placeholder until gan/inspect lands).
#include "tools/commands.h"

namespace ganglion::tools {
Command add_inspect(CLI::App& root) {
  CLI::App* app = root.add_subcommand("inspect", "Per-layer norms and critic outputs of a checkpoint");
  return {app, [] { return 0; }};
}
}  // namespace ganglion::tools
