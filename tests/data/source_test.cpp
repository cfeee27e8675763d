// SPDX-License-Identifier: Apache-2.0
#include "fragua/data/source.h"

#include <zlib.h>

#include <cstring>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mo_fixture.h"
#include "test_util.h"

using namespace fragua::data;

namespace {

std::vector<Document> parse(void (*fn)(std::string_view, const std::string&, const DocumentSink&, SourceStats&),
                            std::string_view data, SourceStats& stats) {
  std::vector<Document> docs;
  fn(
      data, "in.x", [&](Document&& d) { docs.push_back(std::move(d)); }, stats);
  return docs;
}

std::string gzip(std::string_view s) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, s.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  zs.avail_in = static_cast<uInt>(s.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string warc_record(const std::string& type, const std::string& uri, const std::string& block) {
  return "WARC/1.0\r\nWARC-Type: " + type + "\r\nWARC-Target-URI: " + uri + "\r\nWARC-Record-ID: <urn:uuid:" + uri +
         ">\r\nContent-Length: " + std::to_string(block.size()) + "\r\n\r\n" + block + "\r\n\r\n";
}

}  // namespace

using fragua::test::make_mo;

TEST(Source, TextParagraphsAndBadBytes) {
  std::string data =
      "Primer paràgraf\namb dues línies.\n\n  \nSegon paràgraf.\n\nMal \xff\xfe aquí.\n\nBinari \x01\x02.\n\nÚltim.";
  SourceStats st;
  auto docs = parse(parse_text, data, st);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].text, "Primer paràgraf\namb dues línies.");
  EXPECT_EQ(docs[1].text, "Segon paràgraf.");
  EXPECT_EQ(docs[2].text, "Últim.");
  EXPECT_EQ(st.bad_records, 2u);
  ASSERT_EQ(st.warnings.size(), 2u);
  size_t bad_at = data.find('\xff');
  EXPECT_NE(st.warnings[0].find("in.x: offset " + std::to_string(bad_at)), std::string::npos) << st.warnings[0];
  EXPECT_NE(st.warnings[1].find("binary"), std::string::npos);
}

TEST(Source, JsonlKeepsOtherFieldsAsMeta) {
  std::string data =
      "{\"text\": \"Kaixo mundua\", \"id\": \"a1\", \"url\": \"http://x.eus\", \"lang\": \"eu\"}\n"
      "not json\n"
      "{\"title\": \"no text\"}\n"
      "\n"
      "{\"text\": \"Ola mundo\", \"score\": 0.5}\n";
  SourceStats st;
  auto docs = parse(parse_jsonl, data, st);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "Kaixo mundua");
  EXPECT_EQ(docs[0].id, "a1");
  EXPECT_EQ(docs[0].lang, "eu");
  EXPECT_EQ(docs[0].meta["url"], "http://x.eus");
  EXPECT_FALSE(docs[0].meta.contains("text"));
  EXPECT_DOUBLE_EQ(docs[1].meta["score"].get<double>(), 0.5);
  EXPECT_EQ(st.bad_records, 2u);
  EXPECT_NE(st.warnings[0].find("line 2"), std::string::npos);
  EXPECT_NE(st.warnings[1].find("line 3"), std::string::npos);
}

TEST(Source, HtmlTextAndEntities) {
  EXPECT_EQ(decode_entities("caf&eacute; &amp; &#241;&#xF1; &lt;b&gt; &bogus; &#0;"),
            "café & ññ <b> &bogus; \xEF\xBF\xBD");
  std::string html =
      "<!DOCTYPE html><html><head><title>T</title><script>var x='<p>no</p>';</script></head>"
      "<body><nav>Menú</nav><h1>Introducci&oacute;n</h1><p>Hola <b>mundo</b>&nbsp;!</p>"
      "<!-- comentario --><div data-x=\"a>b\">Adiós</div><footer>pie</footer></body></html>";
  EXPECT_EQ(html_to_text(html), "Introducción\nHola mundo !\nAdiós\n");
}

TEST(Source, WarcGzipMembersAndTruncation) {
  std::string r1 = warc_record("warcinfo", "info", "software: test");
  std::string r2 = warc_record("conversion", "http://a.cat/", "Bon dia a tothom.");
  std::string r3 = warc_record("response", "http://b.es/",
                               "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>Buenos d&iacute;as</p>");
  std::string gz = gzip(r1) + gzip(r2) + gzip(r3);
  SourceStats st;
  auto docs = parse(parse_warc, gz, st);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "Bon dia a tothom.");
  EXPECT_EQ(docs[0].meta["url"], "http://a.cat/");
  EXPECT_EQ(docs[1].text, "Buenos días\n");
  EXPECT_EQ(st.bad_records, 0u);

  // Truncated gzip: the records before the cut survive, the warning names the offset.
  std::string cut = gz.substr(0, gz.size() - 10);
  SourceStats st2;
  auto docs2 = parse(parse_warc, cut, st2);
  EXPECT_EQ(docs2.size(), 1u);
  EXPECT_GE(st2.bad_records, 1u);
  EXPECT_NE(st2.warnings[0].find("compressed offset"), std::string::npos) << st2.warnings[0];

  // A record whose Content-Length runs past the end, then a good one after junk.
  std::string plain = warc_record("conversion", "u1", "primer");
  std::string broken = "WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 9999\r\n\r\nshort\r\n\r\n";
  SourceStats st3;
  auto docs3 = parse(parse_warc, "junk\x01\x02\n" + plain + broken, st3);
  ASSERT_EQ(docs3.size(), 1u);
  EXPECT_EQ(docs3[0].text, "primer");
  EXPECT_EQ(st3.bad_records, 2u);
  EXPECT_NE(st3.warnings[1].find("offset " + std::to_string(7 + plain.size())), std::string::npos) << st3.warnings[1];
}

// Issue 12, defect 4: a 1 MB .warc.gz inflating to 1 GB took 3.6 GB of memory; it is now read
// record by record and the ratio cap stops it.
TEST(HardeningSource, WarcGzipBombIsStoppedByTheRatioCap) {
  std::string member = gzip(std::string(size_t{64} << 20, 'a'));
  std::string bomb = gzip(warc_record("conversion", "u0", "antes") +
                          "WARC/1.0\r\nWARC-Type: conversion\r\n"
                          "Content-Length: 1073741824\r\n\r\n");
  for (int i = 0; i < 16; ++i) bomb += member;
  SourceStats st;
  auto docs = parse(parse_warc, bomb, st);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].text, "antes");
  ASSERT_GE(st.bad_records, 1u);
  bool named = false;
  for (const auto& w : st.warnings)
    named |= w.find("in.x: compressed offset") != std::string::npos && w.find("100:1") != std::string::npos;
  EXPECT_TRUE(named) << nlohmann::json(st.warnings).dump(1);
}

TEST(HardeningSource, WarcRecordOverTheLimitIsSkippedNotBuffered) {
  std::string big = warc_record("conversion", "big", std::string((size_t{64} << 20) + 1, 'x'));
  std::string data = big + warc_record("conversion", "after", "despues");
  SourceStats st;
  auto docs = parse(parse_warc, data, st);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].text, "despues");
  EXPECT_EQ(st.bad_records, 1u);
  EXPECT_NE(st.warnings[0].find("in.x: offset 0: record of 67108865 bytes is larger than"), std::string::npos)
      << st.warnings[0];
}

// Issue 12, defect 1: a record id is a short string or a number, never a copied subtree.
TEST(HardeningSource, JsonlIdMustBeShortScalar) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string data = "{\"text\": \"uno\", \"id\": " + deep + "}\n" + "{\"text\": \"dos\", \"id\": [1, 2, 3]}\n" +
                     "{\"text\": \"tres\", \"id\": \"" + std::string(5000, 'x') + "\"}\n" +
                     "{\"text\": \"cuatro\", \"id\": 7, \"lang\": \"<script>\"}\n";
  SourceStats st;
  auto docs = parse(parse_jsonl, data, st);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].id, "7");
  EXPECT_EQ(docs[0].lang, "");  // not a language tag: ignored (it stays in meta)
  EXPECT_EQ(st.bad_records, 3u);
  EXPECT_NE(st.warnings[0].find("JSON nested deeper than 64 levels"), std::string::npos) << st.warnings[0];
  EXPECT_NE(st.warnings[1].find("\"id\" is an array of 3 elements"), std::string::npos) << st.warnings[1];
  EXPECT_NE(st.warnings[2].find("\"id\" of 5000 bytes"), std::string::npos) << st.warnings[2];
}

TEST(Source, MoCatalog) {
  std::string mo = make_mo({{"", "Content-Type: text/plain; charset=UTF-8\n"},
                            {"Open file", "Obre el fitxer"},
                            {std::string("menu\x04") + "Save", "Desa"},
                            {std::string("%d file\0%d files", 16), std::string("%d fitxer\0%d fitxers", 19)}});
  auto r = parse_mo(mo, "ca.mo");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].msgid, "Open file");
  EXPECT_EQ((*r)[0].msgstr, "Obre el fitxer");
  EXPECT_EQ((*r)[1].context, "menu");
  EXPECT_EQ((*r)[1].msgid, "Save");
  EXPECT_EQ((*r)[2].msgstr, "%d fitxer");
  // Damaged: an offset past the end is an error naming the entry.
  std::string bad = mo;
  uint32_t huge = 0x7fffffff;
  std::memcpy(bad.data() + 28 + 8 * 2 + 4, &huge, 4);
  auto r2 = parse_mo(bad, "ca.mo");
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.error().message().find("entry 2"), std::string::npos) << r2.error().message();
  EXPECT_FALSE(parse_mo("garbage that is long enough to have a header", "x.mo").ok());
}

TEST(Source, DetectFormat) {
  EXPECT_EQ(detect_format("a/b.jsonl", ""), SourceFormat::jsonl);
  EXPECT_EQ(detect_format("x.warc.gz", ""), SourceFormat::warc);
  EXPECT_EQ(detect_format("x.HTML", ""), SourceFormat::html);
  EXPECT_EQ(detect_format("x.bin", "\x1f\x8b"), SourceFormat::warc);
  EXPECT_EQ(detect_format("x.txt", "hola"), SourceFormat::text);
}
