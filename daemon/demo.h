// `kmirrord --demo`: embedded clusters A and B, a steady synthetic producer and a consumer group on
// A, and the A->B flow, with a status line every few seconds. Wiring only.
#pragma once

namespace kmirror::daemon {

// Runs until SIGINT/SIGTERM (the caller blocked them); returns the process exit code.
int RunDemo(int records_per_second);

}  // namespace kmirror::daemon
