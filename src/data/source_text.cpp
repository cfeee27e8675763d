// SPDX-License-Identifier: Apache-2.0
// Plain-text and JSONL sources, format detection and file reading.
#include <algorithm>

#include "fragua/base/file.h"
#include "fragua/base/json.h"
#include "fragua/base/utf8.h"
#include "fragua/data/source.h"

namespace fragua::data {

void SourceStats::warn(std::string message) {
  if (warnings.size() < 100) warnings.push_back(std::move(message));
}

void SourceStats::merge(const SourceStats& o) {
  documents += o.documents;
  bytes += o.bytes;
  bad_records += o.bad_records;
  bad_bytes += o.bad_bytes;
  for (const auto& w : o.warnings) warn(w);
}

namespace {

// Longest accepted JSONL record id: ids are file names, URLs, UUIDs (URLs are kept under 2 KB by
// browsers and crawlers; 4 KB leaves room).
constexpr size_t kMaxRecordIdBytes = 4096;
// Longest declared language tag (BCP 47 tags are at most 35 characters).
constexpr size_t kMaxLanguageTag = 35;

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && std::equal(suffix.rbegin(), suffix.rend(), s.rbegin());
}

// Control bytes other than tab, newline, carriage return, form feed: a sign of binary data.
std::optional<size_t> find_binary(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') return i;
    if (c == 0x7f) return i;
  }
  return std::nullopt;
}

// A declared language becomes a statistics key and a report label: only tag-like strings
// ("es", "ca-valencia", "pt_BR", "ca@valencia").
bool is_language_tag(std::string_view s) {
  if (s.size() < 2 || s.size() > kMaxLanguageTag) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '@') return false;
  return std::isalpha(static_cast<unsigned char>(s[0])) != 0;
}

}  // namespace

const char* source_format_name(SourceFormat f) {
  switch (f) {
    case SourceFormat::text:
      return "text";
    case SourceFormat::jsonl:
      return "jsonl";
    case SourceFormat::html:
      return "html";
    case SourceFormat::warc:
      return "warc";
    case SourceFormat::mo:
      return "mo";
  }
  return "?";
}

SourceFormat detect_format(const std::string& path, std::string_view head) {
  std::string p = path;
  std::transform(p.begin(), p.end(), p.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ends_with(p, ".mo")) return SourceFormat::mo;
  if (ends_with(p, ".warc") || ends_with(p, ".wet") || ends_with(p, ".warc.gz") || ends_with(p, ".wet.gz"))
    return SourceFormat::warc;
  if (ends_with(p, ".jsonl") || ends_with(p, ".ndjson")) return SourceFormat::jsonl;
  if (ends_with(p, ".html") || ends_with(p, ".htm") || ends_with(p, ".xhtml") || ends_with(p, ".xml") ||
      ends_with(p, ".xhp"))
    return SourceFormat::html;
  if (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b)
    return SourceFormat::warc;
  if (head.substr(0, 5) == "WARC/") return SourceFormat::warc;
  if (!head.empty() && head[0] == '{') return SourceFormat::jsonl;
  if (!head.empty() && head[0] == '<') return SourceFormat::html;
  return SourceFormat::text;
}

void parse_text(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats) {
  size_t pos = 0;
  while (pos < data.size()) {
    // A paragraph ends at an empty (or whitespace-only) line.
    size_t end = pos;
    while (end < data.size()) {
      size_t nl = data.find('\n', end);
      if (nl == std::string_view::npos) {
        end = data.size();
        break;
      }
      size_t next = nl + 1;
      size_t k = next;
      while (k < data.size() && (data[k] == ' ' || data[k] == '\t' || data[k] == '\r')) ++k;
      if (k >= data.size() || data[k] == '\n') {
        end = nl;
        break;
      }
      end = next;
    }
    std::string_view para = data.substr(pos, end - pos);
    size_t start = pos;
    pos = end;
    while (pos < data.size() && (data[pos] == '\n' || data[pos] == '\r' || data[pos] == ' ' || data[pos] == '\t'))
      ++pos;
    if (para.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
    if (auto bad = utf8::find_invalid(para)) {
      ++stats.bad_records;
      stats.bad_bytes += para.size();
      stats.warn(fmt::format("{}: offset {}: invalid UTF-8, paragraph skipped", name, start + *bad));
      continue;
    }
    if (auto bin = find_binary(para)) {
      ++stats.bad_records;
      stats.bad_bytes += para.size();
      stats.warn(fmt::format("{}: offset {}: binary data, paragraph skipped", name, start + *bin));
      continue;
    }
    Document d;
    d.text.assign(para);
    d.id = fmt::format("{}:{}", name, start);
    d.source = name;
    stats.documents++;
    stats.bytes += para.size();
    sink(std::move(d));
  }
}

void parse_jsonl(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats) {
  size_t pos = 0, line_no = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    size_t end = nl == std::string_view::npos ? data.size() : nl;
    std::string_view line = data.substr(pos, end - pos);
    size_t start = pos;
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    auto bad = [&](std::string_view why) {
      ++stats.bad_records;
      stats.bad_bytes += line.size();
      stats.warn(fmt::format("{}: line {} (offset {}): {}, record skipped", name, line_no, start, why));
    };
    if (auto inv = utf8::find_invalid(line)) {
      bad(fmt::format("invalid UTF-8 at offset {}", start + *inv));
      continue;
    }
    auto parsed = parse_json(line, "record", start);
    if (!parsed.ok() || !parsed->is_object()) {
      bad(parsed.ok() ? "not a JSON object" : parsed.error().message());
      continue;
    }
    nlohmann::json& j = *parsed;
    auto it = j.find("text");
    if (it == j.end() || !it->is_string()) {
      bad("no string field \"text\"");
      continue;
    }
    Document d;
    d.text = it->get<std::string>();
    j.erase(it);
    if (auto id = j.find("id"); id != j.end()) {
      // An id is a short label: a string or a number. Anything else (an array or object, maybe
      // huge) would be copied into every shard line; a long string likewise.
      if (!id->is_string() && !id->is_number()) {
        bad(fmt::format("\"id\" is {}, not a string or a number", json_preview(*id)));
        continue;
      }
      d.id = id->is_string() ? id->get<std::string>() : id->dump();
      if (d.id.size() > kMaxRecordIdBytes) {
        bad(fmt::format("\"id\" of {} bytes is longer than {}", d.id.size(), kMaxRecordIdBytes));
        continue;
      }
    } else {
      d.id = fmt::format("{}:{}", name, line_no);
    }
    if (auto l = j.find("lang"); l != j.end() && l->is_string() && is_language_tag(l->get_ref<const std::string&>()))
      d.lang = l->get<std::string>();
    d.source = name;
    d.meta = std::move(j);
    stats.documents++;
    stats.bytes += d.text.size();
    sink(std::move(d));
  }
}

Status read_source(const std::string& path, SourceFormat format, const DocumentSink& sink, SourceStats& stats) {
  auto file = FRAGUA_TRY(MappedFile::open(path));
  std::string_view data = file.view();
  switch (format) {
    case SourceFormat::text:
      parse_text(data, path, sink, stats);
      break;
    case SourceFormat::jsonl:
      parse_jsonl(data, path, sink, stats);
      break;
    case SourceFormat::html:
      parse_html(data, path, sink, stats);
      break;
    case SourceFormat::warc:
      parse_warc(data, path, sink, stats);
      break;
    case SourceFormat::mo: {
      auto entries = parse_mo(data, path);
      if (!entries.ok()) {
        ++stats.bad_records;
        stats.bad_bytes += data.size();
        stats.warn(entries.error().message());
        break;
      }
      for (auto& e : *entries) {
        if (e.msgstr.empty()) continue;
        Document d;
        d.text = std::move(e.msgstr);
        d.id = fmt::format("{}:{}", path, e.msgid.substr(0, 40));
        d.source = path;
        d.meta["en"] = std::move(e.msgid);
        if (!e.context.empty()) d.meta["context"] = std::move(e.context);
        stats.documents++;
        stats.bytes += d.text.size();
        sink(std::move(d));
      }
      break;
    }
  }
  return ok_status();
}

}  // namespace fragua::data
