// Other processes' share of the processors during a window (see machine_load.hpp).
#include "machine_load.hpp"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

namespace sugar::ops::conv_detail {
namespace {

// The first line of /proc/stat: "cpu user nice system idle iowait irq softirq steal guest guest_nice"
// (guest time is already counted in user). False when it cannot be read.
bool read_processor_ticks(long long& busy, long long& total) {
  std::ifstream stat("/proc/stat");
  std::string line;
  if (!stat || !std::getline(stat, line)) return false;
  std::istringstream fields(line);
  std::string label;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (!(fields >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq) || label != "cpu") return false;
  fields >> steal;  // absent on very old kernels
  busy = user + nice + system + irq + softirq + steal;
  total = busy + idle + iowait;
  return true;
}

double own_processor_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

OtherProcessesLoad::OtherProcessesLoad() {
  if (!read_processor_ticks(busy_ticks_, total_ticks_)) busy_ticks_ = total_ticks_ = -1;
  own_seconds_ = own_processor_seconds();
}

double OtherProcessesLoad::share() const {
  long long busy = 0, total = 0;
  if (total_ticks_ < 0 || !read_processor_ticks(busy, total)) return -1;
  const long long total_delta = total - total_ticks_;
  if (total_delta < kMinTicks) return -1;
  const double ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double own_ticks = (own_processor_seconds() - own_seconds_) * ticks_per_second;
  const double others = static_cast<double>(busy - busy_ticks_) - own_ticks;
  return std::clamp(others / static_cast<double>(total_delta), 0.0, 1.0);
}

}  // namespace sugar::ops::conv_detail
