// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/decompress.h"

#include <bzlib.h>
#include <zlib.h>
#include <zstd.h>

#include <gtest/gtest.h>

#include "test_util.h"

namespace fragua {
namespace {

std::string zlib_of(const std::string& s) {
  uLongf n = compressBound(static_cast<uLong>(s.size()));
  std::string out(n, '\0');
  compress2(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(s.data()),
            static_cast<uLong>(s.size()), 9);
  out.resize(n);
  return out;
}

std::string bzip2_of(const std::string& s) {
  std::string out(s.size() + s.size() / 100 + 600, '\0');
  unsigned n = static_cast<unsigned>(out.size());
  BZ2_bzBuffToBuffCompress(out.data(), &n, const_cast<char*>(s.data()), static_cast<unsigned>(s.size()), 9, 0, 0);
  out.resize(n);
  return out;
}

std::string zstd_of(const std::string& s) {
  std::string out(ZSTD_compressBound(s.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), s.data(), s.size(), 3));
  return out;
}

// A text that compresses like prose (about 3:1), not like a bomb.
std::string sample(size_t n) {
  std::string s;
  uint32_t x = 12345;
  while (s.size() < n) {
    x = x * 1103515245u + 12345u;
    s += "palabra" + std::to_string((x >> 16) % 997) + (x % 7 == 0 ? ".\n" : " ");
  }
  s.resize(n);
  return s;
}

struct Codec {
  const char* name;
  Compression format;
  std::string (*encode)(const std::string&);
};
const Codec kCodecs[] = {{"gzip", Compression::gzip, test::gzip},
                         {"zlib", Compression::zlib, zlib_of},
                         {"bzip2", Compression::bzip2, bzip2_of},
                         {"zstd", Compression::zstd, zstd_of}};

TEST(Decompress, EachFormatByMagicWholeAndStreamed) {
  const std::string text = sample(300000);
  for (const auto& c : kCodecs) {
    SCOPED_TRACE(c.name);
    std::string z = c.encode(text);
    EXPECT_EQ(detect_compression(z), c.format);
    auto all = decompress_all(z, "t.bin");
    ASSERT_TRUE(all.ok()) << all.error().to_string();
    EXPECT_EQ(*all, text);
    // Streamed in odd-sized pieces.
    auto r = DecompressReader::open(z, "t.bin");
    ASSERT_TRUE(r.ok());
    std::string got;
    for (;;) {
      auto piece = r->read(777);
      ASSERT_TRUE(piece.ok()) << piece.error().to_string();
      if (piece->empty()) break;
      got += *piece;
    }
    EXPECT_EQ(got, text);
    EXPECT_EQ(r->compressed_offset(), z.size());
    EXPECT_EQ(r->verified_output(), text.size());
  }
  EXPECT_EQ(detect_compression("plain text"), Compression::none);
  auto none = decompress_all("plain text", "p.txt");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), ErrorCode::unsupported);
  EXPECT_NE(none.error().message().find("p.txt: offset 0"), std::string::npos) << none.error().message();
}

TEST(Decompress, ConcatenatedMembersAndStreams) {
  for (const auto& c : kCodecs) {
    if (c.format == Compression::zlib) continue;  // zlib has no multi-stream form
    SCOPED_TRACE(c.name);
    auto all = decompress_all(c.encode("uno ") + c.encode("dos ") + c.encode("tres"), "m");
    ASSERT_TRUE(all.ok()) << all.error().to_string();
    EXPECT_EQ(*all, "uno dos tres");
  }
  // gzip(1) ignores zero padding after the last member; other trailing bytes are an error.
  EXPECT_EQ(*decompress_all(test::gzip("x") + std::string(64, '\0'), "p.gz"), "x");
  std::string z = test::gzip("x");
  auto junk = decompress_all(z + "junk", "j.gz");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().message().find("j.gz: compressed offset " + std::to_string(z.size())), std::string::npos)
      << junk.error().message();
}

TEST(Decompress, TruncationIsAnErrorWithTheOffset) {
  const std::string text = sample(100000);
  for (const auto& c : kCodecs) {
    SCOPED_TRACE(c.name);
    std::string z = c.encode(text);
    for (size_t cut : {size_t{0}, size_t{3}, z.size() / 2, z.size() - 1}) {
      auto r = decompress_all(std::string_view(z).substr(0, cut), "cut.bin", {}, c.format);
      ASSERT_FALSE(r.ok()) << "cut at " << cut;
      EXPECT_EQ(r.error().code(), ErrorCode::corruption);
      EXPECT_NE(r.error().message().find("cut.bin: compressed offset"), std::string::npos) << r.error().message();
    }
  }
}

TEST(Decompress, CorruptionIsAnErrorNotACrash) {
  const std::string text = sample(100000);
  for (const auto& c : kCodecs) {
    SCOPED_TRACE(c.name);
    std::string z = c.encode(text);
    // Flip bytes through the body; every outcome must be the right text or a clean error.
    for (size_t at = 10; at < z.size(); at += z.size() / 17 + 1) {
      std::string bad = z;
      bad[at] = static_cast<char>(bad[at] ^ 0x55);
      auto r = decompress_all(bad, "bad.bin", {}, c.format);
      if (r.ok()) continue;  // some flips land in bits the format does not check
      EXPECT_NE(r.error().message().find("bad.bin: compressed offset"), std::string::npos) << r.error().message();
    }
  }
  // A checksum mismatch in the gzip trailer.
  std::string z = test::gzip(text);
  z[z.size() - 6] = static_cast<char>(z[z.size() - 6] ^ 1);
  auto r = decompress_all(z, "crc.gz");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("corrupt gzip data"), std::string::npos) << r.error().message();
}

TEST(Decompress, OutputCap) {
  const std::string text = sample(200000);
  for (const auto& c : kCodecs) {
    SCOPED_TRACE(c.name);
    DecompressLimits lim;
    lim.max_output = 100000;
    auto r = decompress_all(c.encode(text), "big.bin", lim);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::resource_exhausted);
    EXPECT_NE(r.error().message().find("output limit of 100000 bytes"), std::string::npos) << r.error().message();
    // Exactly at the cap is fine.
    lim.max_output = text.size();
    EXPECT_TRUE(decompress_all(c.encode(text), "big.bin", lim).ok());
  }
  // The streamed reader hands over everything up to the cap, then the error.
  DecompressLimits lim;
  lim.max_output = 5000;
  const std::string gz = test::gzip(text);  // the reader reads it in place: it must outlive it
  auto r = DecompressReader::open(gz, "s.gz", lim);
  ASSERT_TRUE(r.ok());
  size_t total = 0;
  for (;;) {
    auto piece = r->read(3000);
    if (!piece.ok()) {
      EXPECT_EQ(piece.error().code(), ErrorCode::resource_exhausted);
      break;
    }
    ASSERT_FALSE(piece->empty()) << "ended without reporting the cap";
    total += piece->size();
  }
  EXPECT_EQ(total, 5000u);
}

TEST(Decompress, RatioCapStopsBombs) {
  // 32 MiB of zeros: about 1000:1 with gzip, far more with bzip2 and zstd.
  const std::string zeros(size_t{32} << 20, '\0');
  for (const auto& c : kCodecs) {
    SCOPED_TRACE(c.name);
    std::string z = c.encode(zeros);
    auto r = decompress_all(z, "bomb.bin");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), ErrorCode::resource_exhausted);
    EXPECT_NE(r.error().message().find("bomb.bin: compressed offset"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("more than 100:1"), std::string::npos) << r.error().message();
    // Under the floor a high ratio is fine; a caller may also raise the ratio.
    DecompressLimits lenient;
    lenient.max_ratio = 1e9;
    EXPECT_TRUE(decompress_all(z, "bomb.bin", lenient).ok());
  }
  EXPECT_TRUE(decompress_all(test::gzip(std::string(1 << 20, 'a')), "small.gz").ok());
}

TEST(Decompress, ZstdWindowAboveTheLimitIsRefused) {
  // A frame header that asks for a 2^31-byte window (RFC 8878 3.1.1.1.2: exponent 21 + 10).
  std::string z = "\x28\xb5\x2f\xfd";
  z += static_cast<char>(0x00);         // frame header descriptor: no content size, window descriptor present
  z += static_cast<char>(21 << 3);      // window descriptor
  z += std::string("\x01\x00\x00", 3);  // a last raw block of 0 bytes
  auto r = decompress_all(z, "w.zst");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("w.zst: compressed offset"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace fragua
