// tools/main.cpp — `ganglion <train|sample|eval|inspect|train-classifier>`: parses the command line, runs the chosen subcommand,
// and turns every error into one line on stderr and a non-zero exit status (2: bad usage, 1: failure).
#include <exception>
#include <iostream>
#include <vector>

#include "kernels/common.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  using namespace ganglion::tools;
  CLI::App app{"ganglion — train, sample, evaluate and inspect GANs", "ganglion"};
  app.require_subcommand(1);
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // a repeated flag: the last wins
  std::vector<Command> commands;
  try {
    commands = {add_train(app), add_sample(app), add_eval(app), add_inspect(app), add_train_classifier(app)};
  } catch (const std::exception& e) {
    std::cerr << "ganglion: internal error while setting up: " << e.what() << "\n";
    return 1;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string where = "ganglion";
    for (const auto* sub : app.get_subcommands()) where += " " + sub->get_name();
    std::cerr << where << ": error: " << e.what() << " (run with --help for usage)\n";
    return 2;
  }
  for (auto& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const ganglion::Error& e) {
      std::cerr << "ganglion " << c.app->get_name() << ": error: " << e.what() << "\n";
      return 1;
    } catch (const std::exception& e) {
      std::cerr << "ganglion " << c.app->get_name() << ": unexpected error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "ganglion: error: no subcommand given (run with --help for usage)\n";
  return 2;
}
