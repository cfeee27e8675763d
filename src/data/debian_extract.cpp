// SPDX-License-Identifier: Apache-2.0
// Walks an unpacked Debian package and turns its text-bearing files into documents.
#include <algorithm>
#include <filesystem>
#include <map>

#include "fragua/base/decompress.h"
#include "fragua/base/file.h"
#include "fragua/base/log.h"
#include "fragua/base/utf8.h"
#include "fragua/data/clean.h"
#include "fragua/data/debian.h"

namespace fragua::data {
namespace fs = std::filesystem;
namespace {

// Largest decompressed manual page: the longest in Debian (perlfunc, bash) are under 1 MB of roff.
constexpr uint64_t kManPageMaxBytes = uint64_t{16} << 20;  // 16 MiB

bool locale_like(std::string_view c) {
  // ll, lll, ll-CC, ll_CC, ll@valencia, ca-valencia
  if (c.size() < 2 || c.size() > 14) return false;
  size_t i = 0;
  while (i < c.size() && c[i] >= 'a' && c[i] <= 'z') ++i;
  if (i < 2 || i > 3) return false;
  if (i == c.size()) return true;
  std::string_view rest = c.substr(i);
  if (rest == "@valencia" || rest == "-valencia") return true;
  if ((rest[0] == '_' || rest[0] == '-') && rest.size() == 3)
    return std::isupper(static_cast<unsigned char>(rest[1])) && std::isupper(static_cast<unsigned char>(rest[2]));
  return false;
}

// Our language from the innermost locale-like directory of `rel`.
std::string lang_of_path(const std::string& rel) {
  std::vector<std::string> parts;
  for (const auto& p : fs::path(rel).parent_path()) parts.push_back(p.string());
  for (size_t k = parts.size(); k-- > 0;) {
    if (parts[k] == "LC_MESSAGES" || parts[k] == "text" || parts[k] == "html") continue;
    if (locale_like(parts[k])) return debian_lang(parts[k]);
  }
  return "";
}

bool ends_with(const std::string& s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

// Our language of an HTML manual whose folders do not name it: a language before the extension
// ("ch01.es.html", "adding-text.ca.html"), else a folder of usr/share/doc named after a
// per-language package ("debian-edu-doc-es").
std::string lang_of_doc_file(const std::string& rel, const std::string& name) {
  size_t last = name.rfind('.');
  size_t prev = last == std::string::npos || last == 0 ? std::string::npos : name.rfind('.', last - 1);
  if (prev != std::string::npos) {
    std::string loc = name.substr(prev + 1, last - prev - 1);
    if (locale_like(loc)) return debian_lang(loc);
  }
  if (!rel.starts_with("usr/share/doc/")) return "";
  std::string dir = rel.substr(14, rel.find('/', 14) - 14);
  for (const char* suf : {"-ca-valencia", "-es", "-ca", "-eu", "-gl"})
    if (ends_with(dir, suf)) return debian_lang(std::string_view(suf).substr(1));
  return "";
}

struct Emitter {
  const DebianPackage& pkg;
  const DocumentSink& sink;
  SourceStats& stats;
  Env& env;
  void emit(std::string text, const std::string& lang, const std::string& rel, nlohmann::json extra = {}) {
    if (text.find_first_not_of(" \t\n") == std::string::npos) return;
    Document d;
    d.text = std::move(text);
    d.lang = lang;
    d.source = pkg.name;
    d.id = fmt::format("debian:{}:{}", pkg.name, rel);
    d.meta = extra.is_object() ? std::move(extra) : nlohmann::json::object();
    d.meta["package"] = pkg.name;
    d.meta["version"] = pkg.version;
    d.meta["licence"] = pkg.licence;
    d.meta["path"] = rel;
    stats.documents++;
    stats.bytes += d.text.size();
    sink(std::move(d));
  }
};

void extract_mo(std::string_view data, const std::string& rel, const std::string& lang, Emitter& em) {
  auto entries = parse_mo(data, rel);
  if (!entries.ok()) {
    ++em.stats.bad_records;
    em.stats.warn(entries.error().message());
    return;
  }
  CleanOptions co;
  co.software_strings = true;
  std::string text;
  nlohmann::json pairs = nlohmann::json::array();
  for (const auto& e : *entries) {
    if (e.msgstr.empty() || !utf8::is_valid(e.msgstr) || !utf8::is_valid(e.msgid)) continue;
    if (is_untranslated(e.msgstr, e.msgid)) continue;
    std::string t = clean_text(e.msgstr, co), o = clean_text(e.msgid, co);
    if (t.empty()) continue;
    text += t;
    text.push_back('\n');
    pairs.push_back({o, t});
  }
  em.emit(std::move(text), lang, rel, {{"kind", "catalog"}, {"pairs", std::move(pairs)}});
}

void extract_sword(const fs::path& bzs_path, const std::string& rel, const std::string& lang, Emitter& em) {
  auto base = bzs_path;
  base.replace_extension("");
  auto bzs = read_file(bzs_path.string(), em.env), bzz = read_file(base.string() + ".bzz", em.env),
       bzv = read_file(base.string() + ".bzv", em.env);
  if (!bzs.ok() || !bzz.ok() || !bzv.ok()) {
    ++em.stats.bad_records;
    em.stats.warn(fmt::format("{}: incomplete SWORD module (.bzs/.bzz/.bzv)", rel));
    return;
  }
  auto verses = read_sword_ztext(*bzs, *bzz, *bzv, rel);
  if (!verses.ok()) {
    ++em.stats.bad_records;
    em.stats.warn(verses.error().message());
    return;
  }
  // Documents of 30 verses: about a chapter.
  for (size_t i = 0; i < verses->size(); i += 30) {
    std::string text;
    for (size_t k = i; k < std::min(verses->size(), i + 30); ++k) text += (*verses)[k] + "\n";
    em.emit(std::move(text), lang, fmt::format("{}#{}", rel, i / 30), {{"kind", "bible"}});
  }
}

std::string sword_lang(const fs::path& root, Env& env) {
  const fs::path mods = root / "usr/share/sword/mods.d";
  auto entries = env.list_dir(mods.string());
  if (!entries.ok()) return "";
  for (const auto& e : *entries) {
    auto conf = read_file((mods / e.name).string(), env);
    if (!conf.ok()) continue;
    size_t p = conf->find("\nLang=");
    if (p != std::string::npos) return debian_lang(conf->substr(p + 6, conf->find_first_of("\r\n", p + 6) - p - 6));
  }
  return "";
}

// The regular files below `dir`; symlinks are neither followed nor taken.
Status regular_files(Env& env, const fs::path& dir, std::vector<fs::path>& out) {
  for (const auto& e : FRAGUA_TRY(env.list_dir(dir.string()))) {
    if (e.is_directory)
      FRAGUA_TRY(regular_files(env, dir / e.name, out));
    else if (e.is_regular)
      out.push_back(dir / e.name);
  }
  return ok_status();
}

}  // namespace

Status extract_debian_tree(const std::string& root_str, const DebianPackage& pkg, const DocumentSink& sink,
                           SourceStats& stats, Env& env) {
  fs::path root(root_str);
  Emitter em{pkg, sink, stats, env};
  std::vector<fs::path> files;
  FRAGUA_TRY(regular_files(env, root, files));
  std::sort(files.begin(), files.end());  // fs::path order, component by component
  std::string bible_lang;
  for (const auto& f : files) {
    std::string rel = f.lexically_relative(root).string();  // f is root / ..., symlinks never walked
    std::string name = f.filename().string();
    bool html = ends_with(name, ".html") || ends_with(name, ".xhtml") || ends_with(name, ".page");
    // Under usr/share/doc only manuals in HTML are text of ours (copyright files and changelogs
    // are not): KiCad's help/<lang>/, LilyPond's *.<lang>.html, debian-edu-doc-<lang>/.
    bool in_doc = rel.starts_with("usr/share/doc/");
    if (in_doc && !html) continue;
    if (ends_with(name, ".bzs")) {
      if (bible_lang.empty()) bible_lang = sword_lang(root, env);
      if (!bible_lang.empty()) extract_sword(f, rel, bible_lang, em);
      continue;
    }
    std::string lang = lang_of_path(rel);
    if (lang.empty() && html) lang = lang_of_doc_file(rel, name);
    if (lang.empty()) continue;
    bool mo = ends_with(name, ".mo");
    bool man = rel.find("/man/") != std::string::npos && ends_with(name, ".gz");
    // fortune(6) files: no extension, or .fortunes/.u8 (fortunes-es); never the .dat indices.
    bool fortune = rel.find("/fortunes/") != std::string::npos &&
                   (name.find('.') == std::string::npos || ends_with(name, ".fortunes") || ends_with(name, ".u8"));
    if (!mo && !html && !man && !fortune) continue;
    auto data = read_file(f.string(), env);
    if (!data.ok()) {
      ++stats.bad_records;
      stats.warn(data.error().message());
      continue;
    }
    if (mo) {
      extract_mo(*data, rel, lang, em);
    } else if (html) {
      if (name == "noscript.html") continue;
      SourceStats local;
      parse_html(
          *data, rel,
          [&](Document&& d) {
            em.emit(collapse_whitespace(normalize_nfc(d.text)), lang, rel, {{"kind", "help"}});
          },
          local);
      stats.bad_records += local.bad_records;
      for (auto& w : local.warnings) stats.warn(w);
    } else if (man) {
      DecompressLimits limits;
      limits.max_output = kManPageMaxBytes;
      auto roff = decompress_all(*data, rel, limits);
      if (!roff.ok()) {
        ++stats.bad_records;
        stats.warn(roff.error().message() + ", skipped");
        continue;
      }
      if (auto bad = utf8::find_invalid(*roff)) {
        ++stats.bad_records;
        stats.warn(fmt::format("{}: offset {} of the decompressed page: not UTF-8, skipped", rel, *bad));
        continue;
      }
      em.emit(collapse_whitespace(roff_to_text(*roff)), lang, rel, {{"kind", "manpage"}});
    } else if (fortune) {
      if (!utf8::is_valid(*data)) continue;
      int k = 0;
      for (auto& f2 : split_fortunes(*data))
        em.emit(collapse_whitespace(f2), lang, fmt::format("{}#{}", rel, k++), {{"kind", "fortune"}});
    }
  }
  return ok_status();
}

}  // namespace fragua::data
