#include "sugar/report/statistics.hpp"

#include <cmath>
#include <limits>

#include "sugar/error.hpp"

namespace sugar::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The continued fraction of I_x(a, b) (the classical expansion whose even and odd terms are
// m(b-m)x / ((a+2m-1)(a+2m)) and -(a+m)(a+b+m)x / ((a+2m)(a+2m+1))), evaluated front to back with
// the modified Lentz method. It converges quickly for x < (a+1)/(a+b+2); the caller uses the
// symmetry I_x(a, b) = 1 - I_{1-x}(b, a) for larger x.
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEpsilon = 1e-15;
  double f = kTiny, c = kTiny, d = 0;
  for (int i = 0; i < 10000; ++i) {
    double numerator = 1;  // i = 0: the leading 1 / (1 + ...)
    if (i > 0) {
      const int m = i / 2;
      numerator = i % 2 == 1 ? -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
                             : m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    }
    d = 1 + numerator * d;
    d = 1 / (std::abs(d) < kTiny ? kTiny : d);
    c = 1 + numerator / c;
    if (std::abs(c) < kTiny) c = kTiny;
    f *= c * d;
    if (i > 0 && std::abs(1 - c * d) < kEpsilon) return f;
  }
  throw Error("incomplete_beta: the continued fraction did not converge");
}

}  // namespace

double mean(const std::vector<double>& values) {
  if (values.empty()) return kNaN;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double sample_std(const std::vector<double>& values) {
  if (values.size() < 2) return kNaN;
  const double m = mean(values);
  double squares = 0;
  for (double v : values) squares += (v - m) * (v - m);
  return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

double incomplete_beta(double a, double b, double x) {
  SUGAR_CHECK(a > 0 && b > 0, "incomplete_beta: a and b must be positive, got a=", a, ", b=", b);
  SUGAR_CHECK(x >= 0 && x <= 1, "incomplete_beta: x must be in [0, 1], got ", x);
  if (x == 0 || x == 1) return x;
  const double log_front =
      a * std::log(x) + b * std::log1p(-x) - (std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b));
  if (x < (a + 1) / (a + b + 2)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1 - std::exp(log_front) * beta_continued_fraction(b, a, 1 - x) / b;
}

double student_t_cdf(double t, int64_t dof) {
  SUGAR_CHECK(dof >= 1, "student_t_cdf: degrees of freedom must be >= 1, got ", dof);
  const double nu = static_cast<double>(dof);
  // P(|T| > |t|) = I_{nu/(nu+t^2)}(nu/2, 1/2); half of it lies in each tail.
  const double tail = 0.5 * incomplete_beta(nu / 2, 0.5, nu / (nu + t * t));
  return t > 0 ? 1 - tail : tail;
}

double student_t_quantile(double p, int64_t dof) {
  SUGAR_CHECK(p > 0 && p < 1, "student_t_quantile: p must be in (0, 1), got ", p);
  SUGAR_CHECK(dof >= 1, "student_t_quantile: degrees of freedom must be >= 1, got ", dof);
  if (p == 0.5) return 0;
  if (p < 0.5) return -student_t_quantile(1 - p, dof);
  // The CDF increases with t: bracket the root, then halve the bracket until it is a few ulps wide.
  double low = 0, high = 1;
  while (student_t_cdf(high, dof) < p) {
    low = high;
    high *= 2;
    SUGAR_CHECK(high < 1e300, "student_t_quantile: no quantile found for p=", p);
  }
  for (int i = 0; i < 2000 && high - low > 1e-13 * high; ++i) {
    const double middle = 0.5 * (low + high);
    (student_t_cdf(middle, dof) < p ? low : high) = middle;
  }
  return 0.5 * (low + high);
}

PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b, double level) {
  SUGAR_CHECK(a.size() == b.size(), "paired_difference: ", a.size(), " baseline values but ", b.size(),
              " values to compare (the pairs must match seed by seed)");
  SUGAR_CHECK(level > 0 && level < 1, "paired_difference: the confidence level must be in (0, 1), got ", level);
  std::vector<double> differences(a.size());
  for (size_t i = 0; i < a.size(); ++i) differences[i] = b[i] - a[i];
  PairedDifference result;
  result.n = static_cast<int64_t>(differences.size());
  result.mean = mean(differences);
  result.std = sample_std(differences);
  if (result.n < 2) {
    result.ci_low = result.ci_high = kNaN;
  } else {
    const double half = student_t_quantile(1 - (1 - level) / 2, result.n - 1) * result.std /
                        std::sqrt(static_cast<double>(result.n));
    result.ci_low = result.mean - half;
    result.ci_high = result.mean + half;
  }
  return result;
}

}  // namespace sugar::report
