// SPDX-License-Identifier: Apache-2.0
// Corpus sources: plain text, JSONL, HTML/XML, WARC/WET (gzip or not) and gettext .mo catalogs,
// each turned into Documents. Parsers work on memory (so they can be fuzzed) and never fail on
// bad input: a bad record is counted in SourceStats and a warning names the file and the byte
// offset; parsing goes on with the next record.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"

namespace fragua::data {

struct Document {
  std::string text;
  std::string id;                                  // "<file>:<offset>" or the record id of the source
  std::string source;                              // file, package or URL it came from
  std::string lang;                                // language the source declares ("" if none)
  nlohmann::json meta = nlohmann::json::object();  // every other field the source had
};

using DocumentSink = std::function<void(Document&&)>;

struct SourceStats {
  uint64_t documents = 0, bytes = 0;
  uint64_t bad_records = 0, bad_bytes = 0;
  std::vector<std::string> warnings;  // "file: offset N: why" (first 100 kept, all counted)
  void warn(std::string message);
  void merge(const SourceStats& other);
};

enum class SourceFormat { text, jsonl, html, warc, mo };

// From the extension (".jsonl", ".html", ".htm", ".xhp", ".xml", ".warc", ".wet", ".gz", ".mo")
// and, for ambiguous names, the first bytes.
SourceFormat detect_format(const std::string& path, std::string_view head);
const char* source_format_name(SourceFormat f);

// Plain text: one document per paragraph (blank-line separated); paragraphs holding invalid
// UTF-8 or binary control bytes are skipped as bad records.
void parse_text(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats);
// JSONL: one object per line with a string "text"; other fields go to meta.
void parse_jsonl(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats);
// HTML/XML: the visible text (scripts, styles, comments dropped; block elements become line
// breaks; entities decoded). One document per file.
void parse_html(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats);
// WARC 1.0/1.1 records ('conversion' records of WET files as text, 'response' records with an
// HTML payload through parse_html), possibly compressed (gzip members, bzip2, zstd: decoded as a
// stream, record by record, under the caps of base/decompress.h). Records over 64 MiB are skipped.
void parse_warc(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats);

// Reads a file of the given format and parses it.
Status read_source(const std::string& path, SourceFormat format, const DocumentSink& sink, SourceStats& stats);

// HTML text extraction and entity decoding on their own.
std::string html_to_text(std::string_view html);
std::string decode_entities(std::string_view s);

// A gettext .mo catalog (GNU gettext manual, "The Format of GNU MO Files").
struct MoEntry {
  std::string context, msgid, msgstr;  // plural forms: msgid/msgstr hold the first form
};
Result<std::vector<MoEntry>> parse_mo(std::string_view data, const std::string& name);

}  // namespace fragua::data
