#include "cli/command.h"
namespace fragua::cli {
void setup_corpus_build(CLI::App&) {}
}
