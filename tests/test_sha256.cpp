// SHA-256 against the FIPS 180-4 examples published by NIST (csrc.nist.gov, "Cryptographic Standards
// and Guidelines: Examples with Intermediate Values", SHA256.pdf and SHA2_Additional.pdf): the one-block
// "abc", the two-block 448-bit message, the 896-bit message, the empty string and one million 'a'.
#include <gtest/gtest.h>

#include <string>

#include "sugar/error.hpp"
#include "sugar/io/sha256.hpp"

namespace {

using sugar::io::Sha256;
using sugar::io::sha256_hex;

TEST(Sha256, NistOneBlockMessageAbc) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, NistEmptyMessage) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// 56 bytes: the padding's 1 bit fits the first block, its length does not, so a second block holds it.
TEST(Sha256, NistTwoBlock448BitMessage) {
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, Nist896BitMessage) {
  EXPECT_EQ(sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

constexpr const char* kMillionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256, NistOneMillionA) { EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')), kMillionA); }

// The same million bytes given in pieces that end inside, at and across block boundaries.
TEST(Sha256, PiecesOfAnySizeGiveTheDigestOfTheWhole) {
  for (const size_t piece : {size_t{1}, size_t{55}, size_t{63}, size_t{64}, size_t{65}, size_t{1000}, size_t{4099}}) {
    Sha256 digest;
    size_t given = 0;
    while (given < 1'000'000) {
      const size_t n = std::min(piece, 1'000'000 - given);
      digest.update(std::string(n, 'a'));
      given += n;
    }
    EXPECT_EQ(digest.hex(), kMillionA) << "pieces of " << piece << " bytes";
  }
}

// Every length around the padding boundaries (55, 56 and 64 bytes are where the padding spills into
// a second block), against digests from coreutils' sha256sum of the same bytes.
TEST(Sha256, LengthsAroundThePaddingBoundary) {
  EXPECT_EQ(sha256_hex(std::string(55, 'x')), "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  EXPECT_EQ(sha256_hex(std::string(56, 'x')), "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  EXPECT_EQ(sha256_hex(std::string(64, 'x')), "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
}

TEST(Sha256, FinishedDigestRefusesMoreInput) {
  Sha256 digest;
  digest.update("abc");
  (void)digest.hex();
  EXPECT_THROW(digest.update("d"), sugar::Error);
  EXPECT_THROW((void)digest.hex(), sugar::Error);
}

TEST(Sha256, RecognisesTheHexForm) {
  EXPECT_TRUE(sugar::io::is_sha256_hex(kMillionA));
  EXPECT_FALSE(sugar::io::is_sha256_hex(""));
  EXPECT_FALSE(sugar::io::is_sha256_hex(std::string(63, 'a')));
  EXPECT_FALSE(sugar::io::is_sha256_hex(std::string(65, 'a')));
  EXPECT_FALSE(sugar::io::is_sha256_hex(std::string(64, 'A')));  // sha256sum prints lowercase
  EXPECT_FALSE(sugar::io::is_sha256_hex(std::string(63, 'a') + "g"));
}

}  // namespace
