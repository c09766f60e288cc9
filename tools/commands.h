// tools/commands.h — the subcommands of the `ganglion` program. Each add_* registers its CLI11 subcommand on the
// root app and returns the action main runs when that subcommand was chosen (its exit status).
#pragma once
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace ganglion::tools {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_train(CLI::App& root);
Command add_sample(CLI::App& root);
Command add_eval(CLI::App& root);
Command add_inspect(CLI::App& root);
Command add_train_classifier(CLI::App& root);

}  // namespace ganglion::tools
