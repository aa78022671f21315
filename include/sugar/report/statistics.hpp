#pragma once
// The statistics of `sugar report`: mean and sample standard deviation over seeds, and the paired
// difference of two groups seed by seed with a Student-t confidence interval.
//
// Why paired: runs with the same seed share the initial weights' random stream and the data order,
// so much of the seed-to-seed spread is common to both activations; differencing seed by seed removes
// it and gives a tighter, honest interval for "how much better is B than A".
#include <cstdint>
#include <vector>

namespace sugar::report {

// Arithmetic mean; NaN for no values.
double mean(const std::vector<double>& values);

// Sample standard deviation (divides by n - 1); NaN for fewer than two values.
double sample_std(const std::vector<double>& values);

// The p-quantile of Student's t distribution with `dof` degrees of freedom (dof >= 1, 0 < p < 1),
// to about 1e-10 relative: the t with CDF(t) = p, found by bisection on the CDF written with the
// regularized incomplete beta function. E.g. t(0.975, 1) = 12.7062, t(0.975, 4) = 2.7764.
double student_t_quantile(double p, int64_t dof);

// The CDF of Student's t, and the regularized incomplete beta I_x(a, b) it is built on.
double student_t_cdf(double t, int64_t dof);
double incomplete_beta(double a, double b, double x);

struct PairedDifference {
  int64_t n = 0;        // pairs
  double mean = 0;      // mean of b_i - a_i
  double std = 0;       // sample std of the differences (NaN for n < 2)
  double ci_low = 0;    // mean -/+ t(1 - (1 - level) / 2, n - 1) * std / sqrt(n); NaN for n < 2
  double ci_high = 0;
};

// Differences b[i] - a[i] (a and b the same length, entry i of both from the same seed) and their
// `level` (default 95%) confidence interval.
PairedDifference paired_difference(const std::vector<double>& a, const std::vector<double>& b, double level = 0.95);

}  // namespace sugar::report
