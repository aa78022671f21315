#pragma once
// How busy the rest of the machine was while this process measured something: `auto` does not trust
// timings taken while other processes competed for the processors (conv_decision.hpp).
//
// From /proc/stat, over the processors this process may run on (sched_getaffinity): their busy time
// (user, nice, system, irq, softirq and the hypervisor's steal) minus this process's own processor
// time, over their total time. /proc/stat counts in clock ticks (USER_HZ, 100 per second on Linux),
// so a window needs about kMinTicks ticks of all those processors' time to be judged to a few
// percent: 100 ms on 2 processors. A measurement shorter than that (a small layer at a small batch)
// is judged by a sample of its own: this process sleeps for kIdleSampleSeconds, so that every busy
// tick in that window is another process's. One sample serves every short measurement that follows
// within kIdleSampleReuseSeconds.
namespace sugar::ops::conv_detail {

class OtherProcessesLoad {
 public:
  OtherProcessesLoad();  // starts the window
  // Other processes' share of the allowed processors' time since construction, in [0, 1]; for a
  // window too short to judge, the idle sample's share (taken now if none is recent); negative when
  // /proc/stat cannot be read.
  double share() const;

  static constexpr long long kMinTicks = 20;
  static constexpr double kIdleSampleSeconds = 0.2;
  static constexpr double kIdleSampleReuseSeconds = 2.0;

 private:
  long long busy_ticks_ = -1, total_ticks_ = -1;
  double own_seconds_ = 0;
};

}  // namespace sugar::ops::conv_detail
