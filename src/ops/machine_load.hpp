#pragma once
// How busy the rest of the machine was while this process measured something: `auto` does not trust
// timings taken while other processes competed for the processors (conv_decision.hpp).
//
// From /proc/stat: the processors' busy time (user, nice, system, irq, softirq and the hypervisor's
// steal) minus this process's own processor time, over all processors' time. /proc/stat counts in
// clock ticks (10 ms), so a window shorter than kMinTicks of all processors' time is not judged.
namespace sugar::ops::conv_detail {

class OtherProcessesLoad {
 public:
  OtherProcessesLoad();  // starts the window
  // Other processes' share of all processors' time since construction, in [0, 1]; negative when
  // /proc/stat cannot be read or the window is too short to judge.
  double share() const;

  static constexpr long long kMinTicks = 20;

 private:
  long long busy_ticks_ = -1, total_ticks_ = -1;
  double own_seconds_ = 0;
};

}  // namespace sugar::ops::conv_detail
