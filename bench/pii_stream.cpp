// SPDX-License-Identifier: Apache-2.0
// The cost of redacting a streamed answer (data::PiiStream, what `fragua serve --redact
// responses` runs on the scheduler's worker for every token) beside redact_pii over the whole
// text: a Spanish-like text with identifiers every few sentences, pushed in pieces of a token's
// size (4 bytes), and once as a run with no break (the worst case: held back up to 800 bytes and
// rescanned on every push). Prints MB/s and microseconds per push, and checks the outputs agree.
// Usage: bench_pii_stream [MEGABYTES] [PIECE_BYTES]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fragua/data/pii.h"

using namespace fragua;
using Clock = std::chrono::steady_clock;

namespace {

double run(const std::string& text, size_t piece, const char* what) {
  const auto t0 = Clock::now();
  const data::RedactResult whole = data::redact_pii(text);
  const double whole_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto t1 = Clock::now();
  data::PiiStream s;
  std::string out;
  size_t pushes = 0;
  for (size_t pos = 0; pos < text.size(); pos += piece, ++pushes) out += s.push(std::string_view(text).substr(pos, piece));
  out += s.finish();
  const double stream_s = std::chrono::duration<double>(Clock::now() - t1).count();
  const double mb = static_cast<double>(text.size()) / 1e6;
  std::printf("%-22s %7.2f MB  redact_pii %8.1f MB/s  PiiStream %8.1f MB/s  %6.3f us/push  %s\n", what, mb,
              mb / whole_s, mb / stream_s, 1e6 * stream_s / static_cast<double>(pushes),
              out == whole.text ? "same output" : "OUTPUTS DIFFER");
  return out == whole.text ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const double megabytes = argc > 1 ? std::atof(argv[1]) : 4.0;
  const size_t piece = argc > 2 ? static_cast<size_t>(std::atoi(argv[2])) : 4;
  const std::string prose =
      "La solicitud de Ana, con DNI 12345678Z, llegó el martes; su teléfono es el 612 34 56 78 y su "
      "correo ana.garcia@correo.es. El pago se hará a la cuenta ES91 2100 0418 4502 0005 1332 antes "
      "del día quince, según consta en el expediente número 2024/118 del registro municipal. ";
  const std::string glued = "token.12345678Z.x@correo.es.ES9121000418450200051332.";
  std::string text, run_text;
  while (static_cast<double>(text.size()) < megabytes * 1e6) text += prose;
  while (run_text.size() < text.size() / 8) run_text += glued;
  int bad = run(text, piece, "prose");
  bad += run(run_text, piece, "one run, no break");
  return bad;
}
