// Other processes' share of the processors during a window (see machine_load.hpp).
#include "machine_load.hpp"

#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

namespace sugar::ops::conv_detail {
namespace {

// The busy and total ticks of the processors this process may run on, summed from the "cpuN" lines of
// /proc/stat ("cpuN user nice system idle iowait irq softirq steal guest guest_nice"; guest time is
// already counted in user). False when it cannot be read.
bool read_processor_ticks(long long& busy, long long& total) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const bool have_affinity = ::sched_getaffinity(0, sizeof allowed, &allowed) == 0;
  std::ifstream stat("/proc/stat");
  if (!stat) return false;
  busy = total = 0;
  bool any = false;
  std::string line;
  while (std::getline(stat, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    std::istringstream fields(line.substr(3));
    int cpu = -1;
    long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (!(fields >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq)) continue;
    fields >> steal;  // absent on very old kernels
    if (have_affinity && (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &allowed))) continue;
    busy += user + nice + system + irq + softirq + steal;
    total += user + nice + system + irq + softirq + steal + idle + iowait;
    any = true;
  }
  return any;
}

double own_processor_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Other processes' share between two readings; negative when the window is shorter than kMinTicks.
double share_between(long long busy0, long long total0, double own0, long long busy1, long long total1, double own1) {
  const long long total_delta = total1 - total0;
  if (total_delta < OtherProcessesLoad::kMinTicks) return -1;
  const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  const double own_ticks = (own1 - own0) * static_cast<double>(ticks_per_second > 0 ? ticks_per_second : 100);
  const double others = static_cast<double>(busy1 - busy0) - own_ticks;
  return std::clamp(others / static_cast<double>(total_delta), 0.0, 1.0);
}

// The idle sample: this thread sleeps while the rest of the process is between measurements, so the
// window's busy ticks are other processes' (less the little this process's other threads used, which
// its own processor time accounts for).
double idle_sample_share() {
  static std::mutex mutex;
  static double last_share = -1;
  static std::chrono::steady_clock::time_point last_time;
  std::lock_guard<std::mutex> lock(mutex);
  const auto now = std::chrono::steady_clock::now();
  if (last_share >= 0 && now - last_time < std::chrono::duration<double>(OtherProcessesLoad::kIdleSampleReuseSeconds))
    return last_share;
  long long busy0 = 0, total0 = 0, busy1 = 0, total1 = 0;
  if (!read_processor_ticks(busy0, total0)) return -1;
  const double own0 = own_processor_seconds();
  std::this_thread::sleep_for(std::chrono::duration<double>(OtherProcessesLoad::kIdleSampleSeconds));
  if (!read_processor_ticks(busy1, total1)) return -1;
  last_share = share_between(busy0, total0, own0, busy1, total1, own_processor_seconds());
  last_time = std::chrono::steady_clock::now();
  return last_share;
}

}  // namespace

OtherProcessesLoad::OtherProcessesLoad() {
  if (!read_processor_ticks(busy_ticks_, total_ticks_)) busy_ticks_ = total_ticks_ = -1;
  own_seconds_ = own_processor_seconds();
}

double OtherProcessesLoad::share() const {
  long long busy = 0, total = 0;
  if (total_ticks_ < 0 || !read_processor_ticks(busy, total)) return -1;
  const double window = share_between(busy_ticks_, total_ticks_, own_seconds_, busy, total, own_processor_seconds());
  return window >= 0 ? window : idle_sample_share();
}

}  // namespace sugar::ops::conv_detail
