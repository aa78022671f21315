// Activation specs: parsing, defaults, canonical printing, flat and nested SUGAR parameters, and
// the error messages a researcher sees for a typo.
#include <gtest/gtest.h>

#include "sugar/activations/builtin.hpp"
#include "sugar/activations/registry.hpp"
#include "sugar/activations/spec.hpp"
#include "sugar/error.hpp"

using namespace sugar;
using namespace sugar::activations;

namespace {

// The message of the usage error that parsing `text` throws ("" and a failure if it does not).
std::string parse_error(const std::string& text) {
  try {
    ActivationSpec::parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << text;
    return e.what();
  }
  ADD_FAILURE() << "'" << text << "' parsed without error";
  return "";
}

}  // namespace

TEST(ActivationSpec, DefaultsAreFilledInCanonically) {
  EXPECT_EQ(ActivationSpec::parse("relu").to_string(), "relu");
  EXPECT_EQ(ActivationSpec::parse("leaky_relu").to_string(), "leaky_relu(negative_slope=0.01)");
  EXPECT_EQ(ActivationSpec::parse("rrelu").to_string(), "rrelu(lower=0.125, upper=0.3333333333333333)");
  EXPECT_EQ(ActivationSpec::parse("softplus").to_string(), "softplus(beta=1, threshold=20)");
  EXPECT_EQ(ActivationSpec::parse("gelu").to_string(), "gelu(approximate=none)");
  EXPECT_EQ(ActivationSpec::parse("nelu").to_string(), "nelu(alpha=0.05)");
  EXPECT_EQ(ActivationSpec::parse("bsilu").to_string(), "bsilu(alpha=1.67)");
  EXPECT_EQ(ActivationSpec::parse("sugar").to_string(), "sugar(forward=relu, surrogate=bsilu(alpha=1.67), region=all)");
  EXPECT_EQ(ActivationSpec::parse("relu()").to_string(), "relu");
}

TEST(ActivationSpec, GivenValuesAliasesAndWhitespace) {
  const ActivationSpec spec = ActivationSpec::parse("  leaky_relu ( negative_slope = 0.1 )  ");
  EXPECT_EQ(spec.name(), "leaky_relu");
  EXPECT_DOUBLE_EQ(spec.number("negative_slope"), 0.1);
  EXPECT_FLOAT_EQ(spec.kernel_params()[0], 0.1f);
  EXPECT_EQ(ActivationSpec::parse("swish").to_string(), "silu(beta=1)");
  EXPECT_EQ(ActivationSpec::parse("gelu(approximate=tanh)").choice("approximate"), "tanh");
  EXPECT_EQ(ActivationSpec::parse("softplus(threshold=1e+1, beta=.5)").to_string(), "softplus(beta=0.5, threshold=10)");
  EXPECT_EQ(ActivationSpec::parse("leaky_relu(negative_slope=-2.5e-3)").number("negative_slope"), -2.5e-3);
  EXPECT_EQ(ActivationSpec::parse("leaky_relu(negative_slope=+2)").number("negative_slope"), 2.0);
}

TEST(ActivationSpec, EveryRowRoundTripsThroughItsCanonicalText) {
  std::vector<std::string> texts = {
      "sugar(surrogate=elu(alpha=0.5), region=negative)", "sugar(forward=leaky_relu, negative_slope=0.2)",
      "rrelu(lower=0.1, upper=0.1)",                      "softplus(beta=2, threshold=5)",
      "leaky_relu(negative_slope=0.123456789012345)"};
  for (const auto& row : activation_rows())
    if (row->kind != ActivationKind::module) texts.push_back(row->name);
  for (const std::string& text : texts) {
    const ActivationSpec spec = ActivationSpec::parse(text);
    const ActivationSpec again = ActivationSpec::parse(spec.to_string());
    EXPECT_EQ(again, spec) << text << " -> " << spec.to_string();
    EXPECT_EQ(again.to_string(), spec.to_string());
  }
}

TEST(ActivationSpec, SugarSurrogateParametersFlatOrNested) {
  const ActivationSpec flat = ActivationSpec::parse("sugar(surrogate=nelu, alpha=0.1)");
  EXPECT_EQ(flat.to_string(), "sugar(forward=relu, surrogate=nelu(alpha=0.1), region=all)");
  EXPECT_EQ(flat, ActivationSpec::parse("sugar(surrogate=nelu(alpha=0.1))"));
  EXPECT_EQ(flat.nested("surrogate").number("alpha"), 0.1);
  // Flat keys reach the default surrogate too, and the forward when only it accepts them.
  EXPECT_EQ(ActivationSpec::parse("sugar(alpha=2)").nested("surrogate").number("alpha"), 2.0);
  EXPECT_EQ(ActivationSpec::parse("sugar(forward=leaky_relu, negative_slope=0.2, surrogate=elu, alpha=0.5, region=negative)")
                .to_string(),
            "sugar(forward=leaky_relu(negative_slope=0.2), surrogate=elu(alpha=0.5), region=negative)");
  EXPECT_NE(ActivationSpec::parse("sugar(region=negative)"), ActivationSpec::parse("sugar"));
}

TEST(ActivationSpec, AKeyBothForwardAndSurrogateAcceptMustBeNested) {
  const std::string message = parse_error("sugar(forward=elu, surrogate=elu, alpha=0.5)");
  EXPECT_NE(message.find("'alpha' is accepted by forward=elu and surrogate=elu"), std::string::npos) << message;
  EXPECT_NE(message.find("surrogate=elu(alpha=...)"), std::string::npos) << message;
  // Nested, it is fine.
  EXPECT_EQ(ActivationSpec::parse("sugar(forward=elu(alpha=2), surrogate=elu(alpha=0.5))").nested("forward").number("alpha"),
            2.0);
}

TEST(ActivationSpec, UnknownNameSuggestsTheNearestNames) {
  std::string message = parse_error("relu7");
  EXPECT_NE(message.find("unknown activation 'relu7'; did you mean relu, relu6"), std::string::npos) << message;
  message = parse_error("bslu");
  EXPECT_NE(message.find("did you mean bsilu"), std::string::npos) << message;
  message = parse_error("swich");
  EXPECT_NE(message.find("did you mean swish"), std::string::npos) << message;
  message = parse_error("sugar(surrogate=nelo)");
  EXPECT_NE(message.find("sugar surrogate: unknown activation 'nelo'; did you mean nelu"), std::string::npos) << message;
}

TEST(ActivationSpec, UnknownOrIllTypedOrOutOfRangeParametersListTheAllowedOnes) {
  std::string message = parse_error("leaky_relu(slope=0.1)");
  EXPECT_NE(message.find("leaky_relu: unknown parameter 'slope'"), std::string::npos) << message;
  EXPECT_NE(message.find("leaky_relu accepts negative_slope=0.01 (number in [-1e+06, 1e+06])"), std::string::npos) << message;

  message = parse_error("leaky_relu(negative_slop=0.1)");
  EXPECT_NE(message.find("did you mean negative_slope?"), std::string::npos) << message;

  message = parse_error("relu(alpha=1)");
  EXPECT_NE(message.find("relu takes no parameters"), std::string::npos) << message;

  message = parse_error("leaky_relu(negative_slope=abc)");
  EXPECT_NE(message.find("negative_slope expects a number, got 'abc'"), std::string::npos) << message;

  message = parse_error("softplus(beta=0)");
  EXPECT_NE(message.find("beta=0 is out of range (number in (0, 1e+06])"), std::string::npos) << message;
  EXPECT_NE(message.find("softplus accepts beta=1 (number in (0, 1e+06]), threshold=20 (number in (0, 1e+06])"), std::string::npos) << message;

  message = parse_error("rrelu(lower=1.5)");
  EXPECT_NE(message.find("lower=1.5 is out of range (number in [0, 1])"), std::string::npos) << message;
  // Every parameter stops at a finite magnitude: 1e300 as a slope makes every output Inf or NaN, and a
  // count that large allocates without bound.
  for (const char* text : {"leaky_relu(negative_slope=1e300)", "bsilu(alpha=-2e6)", "maxout(k=65)", "meta_acon_c(r=2000)"}) {
    try {
      activations::ActivationSpec::parse(text);
      ADD_FAILURE() << text << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("is out of range"), std::string::npos) << e.what();
    }
  }

  message = parse_error("rrelu(lower=0.5, upper=0.2)");
  EXPECT_NE(message.find("lower=0.5 must not exceed upper=0.2"), std::string::npos) << message;

  message = parse_error("gelu(approximate=fast)");
  EXPECT_NE(message.find("approximate expects one of none|tanh, got 'fast'"), std::string::npos) << message;

  message = parse_error("gelu(approximate=1)");
  EXPECT_NE(message.find("expects one of none|tanh, got '1'"), std::string::npos) << message;

  message = parse_error("leaky_relu(negative_slope=inf)");
  EXPECT_NE(message.find("expects a number, got 'inf'"), std::string::npos) << message;

  message = parse_error("sugar(surrogate=3)");
  EXPECT_NE(message.find("surrogate expects an activation name, got '3'"), std::string::npos) << message;

  message = parse_error("sugar(beta=2)");
  EXPECT_NE(message.find("sugar: unknown parameter 'beta'"), std::string::npos) << message;
  EXPECT_NE(message.find("forward=relu (activation), surrogate=bsilu (activation), region=all (one of all|negative)"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("forward=relu: none; surrogate=bsilu: alpha=1.67 (number in [-1e+06, 1e+06])"), std::string::npos) << message;

  message = parse_error("leaky_relu(negative_slope=0.1, negative_slope=0.2)");
  EXPECT_NE(message.find("'negative_slope' is given twice"), std::string::npos) << message;

  message = parse_error("sugar(surrogate=nelu(alpha=0.1), alpha=0.2)");
  EXPECT_NE(message.find("'alpha' is given twice"), std::string::npos) << message;
}

TEST(ActivationSpec, SurrogatesAndForwardsMustBeDeterministicElementwiseRows) {
  std::string message = parse_error("sugar(surrogate=rrelu)");
  EXPECT_NE(message.find("sugar surrogate: 'rrelu' cannot be used here: it is a random activation"), std::string::npos)
      << message;
  EXPECT_NE(message.find("(relu, leaky_relu, elu,"), std::string::npos) << message;
  message = parse_error("sugar(forward=sugar)");
  EXPECT_NE(message.find("sugar forward: 'sugar' cannot be used here: it is a combinator activation"), std::string::npos)
      << message;
}

TEST(ActivationSpec, SyntaxErrorsSayWhereAndWhat) {
  EXPECT_NE(parse_error("").find("is empty"), std::string::npos);
  EXPECT_NE(parse_error("relu(").find("ends early"), std::string::npos);
  EXPECT_NE(parse_error("leaky_relu(negative_slope=)").find("expected a value (a number or a name) for parameter "
                                                             "'negative_slope' but found ')' at column 27"),
            std::string::npos);
  EXPECT_NE(parse_error("relu)").find("unexpected text ')'"), std::string::npos);
  EXPECT_NE(parse_error("leaky_relu(negative_slope 0.1)").find("expected '=' after parameter 'negative_slope'"),
            std::string::npos);
  EXPECT_NE(parse_error("leaky_relu(negative_slope=1.5.2)").find("invalid number '1.5.2'"), std::string::npos);
  EXPECT_NE(parse_error("leaky_relu(negative_slope=1x)").find("invalid number"), std::string::npos);
  EXPECT_NE(parse_error("3relu").find("expected an activation name"), std::string::npos);
  EXPECT_NE(parse_error("leaky_relu(negative_slope=0.1; x=1)").find("expected ',' or ')' but found ';'"),
            std::string::npos);
}

// The parser recurses once per level; 20,000 levels overflowed the stack of `sugar train` (issue 16).
TEST(ActivationSpec, DeepNestingIsAShortUsageError) {
  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "sugar(surrogate=";
  deep += "relu" + std::string(20000, ')');
  try {
    ActivationSpec::parse(deep);
    FAIL() << "a spec nested 20000 levels deep was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    // 16 x "sugar(surrogate=" = 256 characters: the 17th level is refused where its name starts.
    EXPECT_NE(message.find("nests deeper than 16 levels at column 257"), std::string::npos) << message;
    EXPECT_NE(message.find("(" + std::to_string(deep.size()) + " characters)"), std::string::npos) << message;
    EXPECT_LT(message.size(), 300u) << "the spec is quoted shortened, not whole";
  }
}

TEST(ActivationSpec, ParameterAccessorsRejectWrongNames) {
  const ActivationSpec spec = ActivationSpec::parse("leaky_relu");
  EXPECT_THROW(spec.number("alpha"), Error);
  EXPECT_THROW(spec.choice("negative_slope"), Error);
  EXPECT_THROW(ActivationSpec().row(), Error);
}

TEST(ActivationSpec, BuiltinEnumNamesMatchTheTable) {
  for (int i = 0; i < static_cast<int>(Builtin::count); ++i) {
    const auto row = find_activation(builtin_name(static_cast<Builtin>(i)));
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(row->name, builtin_name(static_cast<Builtin>(i)));
  }
  EXPECT_EQ(find_activation("sugar")->kind, ActivationKind::combinator);
  EXPECT_EQ(find_activation("rrelu")->kind, ActivationKind::random);
  EXPECT_EQ(find_activation("swish"), find_activation("silu"));
}
