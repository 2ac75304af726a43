// Counter-based random numbers (math/philox.h): Philox4x32-10 against
// Random123's known answers.
#include <gtest/gtest.h>

#include <cstdint>

#include "math/philox.h"

using namespace tsgd;

namespace {
// Random123's kat_vectors: counter[4], key[2] -> output[4].
struct Kat {
  std::uint32_t ctr[4], key[2], out[4];
};
const Kat kKats[] = {
    {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
    {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
     {0xffffffff, 0xffffffff},
     {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
     {0xa4093822, 0x299f31d0},
     {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
};
}  // namespace

TEST(Philox, Random123KnownAnswers) {
  for (const Kat& k : kKats) {
    const Philox4x32 out =
        philox4x32_10(Philox4x32{{k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3]}}, k.key[0], k.key[1]);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(out.v[i], k.out[i]) << "word " << i;
  }
}
