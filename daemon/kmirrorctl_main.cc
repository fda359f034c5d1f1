// kmirrorctl: the kmirror operator command. Wiring only; one CLI11 subcommand per verb.
//
//   kmirrorctl import-mm2 mm2.properties [-o kmirrord.toml]
//       convert a MirrorMaker 2 dedicated-mode configuration (lib/mm2import); settings that
//       cannot be carried over are listed on stderr and as comments in the TOML
//
// Exit codes: 0 done, 1 the verb failed, 64 usage.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "lib/mm2import/mm2_import.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 64;

int ImportMm2(const std::string& input, const std::string& output) {
  std::ifstream in(input);
  if (!in) {
    std::fprintf(stderr, "kmirrorctl: cannot read %s\n", input.c_str());
    return kExitFailure;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto conversion =
      kmirror::mm2import::ConvertMm2(kmirror::mm2import::ParseProperties(text.str()), input);
  if (!conversion.ok()) {
    std::fprintf(stderr, "kmirrorctl: %s: %s\n", input.c_str(),
                 std::string(conversion.status().message()).c_str());
    return kExitFailure;
  }
  if (output.empty() || output == "-") {
    std::fputs(conversion->toml.c_str(), stdout);
  } else {
    std::ofstream out(output);
    out << conversion->toml;
    if (!out.flush()) {
      std::fprintf(stderr, "kmirrorctl: cannot write %s\n", output.c_str());
      return kExitFailure;
    }
  }
  if (!conversion->not_converted.empty()) {
    std::fprintf(stderr, "kmirrorctl: %zu MirrorMaker 2 setting(s) not carried over:\n",
                 conversion->not_converted.size());
    for (const auto& n : conversion->not_converted) std::fprintf(stderr, "  %s\n", n.c_str());
  }
  std::fprintf(stderr, "kmirrorctl: check the result with kmirrord --check-config\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kmirrorctl: operate kmirror (Kafka cross-cluster replication)"};
  app.require_subcommand(1);

  std::string mm2_input, mm2_output;
  CLI::App* import_mm2 = app.add_subcommand(
      "import-mm2", "convert a MirrorMaker 2 dedicated-mode properties file into kmirrord TOML");
  import_mm2->add_option("file", mm2_input, "connect-mirror-maker.properties")->required();
  import_mm2->add_option("-o,--output", mm2_output, "write the TOML here instead of stdout");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (*import_mm2) return ImportMm2(mm2_input, mm2_output);
  return kExitUsage;
}
