#pragma once
// Wall-clock time as Sugar records it (status.json heartbeats, run.json sessions, sweep claims):
// seconds since the Unix epoch, and ISO 8601 UTC text. The bottom layer: it depends on nothing of Sugar's.
#include <string>

namespace sugar {

// Seconds since the Unix epoch (system clock).
double unix_now();

// ISO 8601 UTC, to the second: "2024-05-01T10:31:30Z"; of now, or of `unix_seconds`.
std::string utc_timestamp();
std::string utc_timestamp(double unix_seconds);

}  // namespace sugar
