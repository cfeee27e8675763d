// SPDX-License-Identifier: Apache-2.0
// `fragua corpus fetch debian`: download (apt-get download, resumable: a .deb already in the
// cache is not fetched again), unpack (dpkg-deb -x), convert (extract_debian_tree) into one
// JSONL per package in the cache (written atomically, so an interrupted run resumes at the next
// package), then merge per language into the output folder.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/base/http.h"
#include "fragua/base/json.h"
#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/data/debian.h"
#include "fragua/data/pairs.h"

namespace fragua::data {
namespace fs = std::filesystem;
namespace {

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int run_capture(const std::string& cmd, std::string* out) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    if (out) out->append(buf, n);
  int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

bool valid_package_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.')) return false;
  return true;
}

Env& env_of(const FetchOptions& o) { return o.env ? *o.env : Env::posix(); }

// The .deb of `pkg` in `dir` (apt-get download names them <pkg>_<version>_<arch>.deb); the first
// by name when several versions were downloaded.
std::string find_deb(Env& env, const fs::path& dir, const std::string& pkg) {
  auto entries = env.list_dir(dir.string());
  if (!entries.ok()) return "";
  for (const auto& e : *entries)
    if (e.name.starts_with(pkg + "_") && e.name.ends_with(".deb")) return (dir / e.name).string();
  return "";
}

// The licence of a package: the License: fields of its machine-readable copyright file
// (DEP-5), distinct, in order; or the first line mentioning a licence otherwise.
std::string licence_of(Env& env, const fs::path& root, const std::string& pkg) {
  auto text = read_file((root / "usr/share/doc" / pkg / "copyright").string(), env);
  if (!text.ok()) return "unknown";
  std::vector<std::string> found;
  size_t pos = 0;
  while ((pos = text->find("\nLicense:", pos)) != std::string::npos) {
    size_t e = text->find('\n', pos + 1);
    std::string v = text->substr(pos + 9, e - pos - 9);
    v.erase(0, v.find_first_not_of(" \t"));
    if (!v.empty() && std::find(found.begin(), found.end(), v) == found.end()) found.push_back(v);
    pos = e == std::string::npos ? text->size() : e;
    if (found.size() >= 4) break;
  }
  if (found.empty()) return "see copyright";
  std::string out;
  for (const auto& f : found) out += (out.empty() ? "" : " AND ") + f;
  return out;
}

// apt-get download in batches (one apt-get start per package costs about a second, which adds
// up over the 1,500 packages of the full preset); a batch that fails is retried one package at
// a time, so one unknown package does not cost the others.
Status download(const FetchOptions& o, const std::vector<std::string>& pkgs, const fs::path& debs) {
  constexpr size_t kBatch = 40;
  ProgressBar bar("download", pkgs.size(), "pkg");
  std::vector<std::string> todo;
  for (const auto& p : pkgs) {
    if (find_deb(env_of(o), debs, p).empty())
      todo.push_back(p);
    else
      bar.add();
  }
  int failed = 0;
  auto fetch = [&](const std::vector<std::string>& batch, std::string* out) {
    std::string cmd = "cd " + shell_quote(debs.string()) + " && " + o.apt_get + " download";
    for (const auto& p : batch) cmd += " " + shell_quote(p);
    return run_capture(cmd, out);
  };
  for (size_t b = 0; b < todo.size(); b += kBatch) {
    std::vector<std::string> batch(todo.begin() + static_cast<long>(b),
                                   todo.begin() + static_cast<long>(std::min(todo.size(), b + kBatch)));
    int rc = batch.size() > 1 ? fetch(batch, nullptr) : -1;
    for (const auto& p : batch) {
      if (find_deb(env_of(o), debs, p).empty()) {
        std::string one;
        int rc1 = rc == 0 ? 0 : fetch({p}, &one);  // batch ran: a missing .deb was a virtual name
        if (rc1 != 0 || find_deb(env_of(o), debs, p).empty()) {
          ++failed;
          if (rc1 == 0)
            log_warn("apt-get download {} left no {}_*.deb (a virtual package? name its provider instead)", p, p);
          else
            log_warn("apt-get download {} failed (exit {}): {}", p, rc1, one.substr(0, 300));
        }
      }
      bar.add();
    }
  }
  bar.finish();
  if (failed > 0 && failed == static_cast<int>(pkgs.size()))
    return io_error("apt-get download failed for every package");
  return ok_status();
}

// The full preset's discovery: the Contents indices of the configured archives (cached in
// cache/contents; delete that folder to refresh them), scanned for gettext catalogs.
Result<std::vector<std::string>> find_catalog_packages(const FetchOptions& o, const fs::path& cache,
                                                       nlohmann::json& manifest) {
  std::string targets;
  int rc = run_capture(o.apt_get + " indextargets --format '$(BASE_URI) $(COMPONENT) $(ARCHITECTURE) $(CREATED_BY)'",
                       &targets);
  if (rc != 0) return io_error("apt-get indextargets failed (exit {}): {}", rc, targets.substr(0, 300));
  auto urls = contents_urls(targets);
  if (urls.empty()) return not_found_error("apt-get indextargets lists no Packages index to derive Contents URLs from");
  fs::path dir = cache / "contents";
  FRAGUA_TRY(env_of(o).create_dirs(dir.string()));
  std::map<std::string, int> counts;
  size_t scanned = 0;
  for (const auto& url : urls) {
    std::string name;
    for (char c : url.substr(url.find("://") + 3)) name += (c == '/' || c == ':') ? '_' : c;
    fs::path file = dir / name;
    if (!env_of(o).file_exists(file.string())) {
      ProgressBar bar("contents", 0, "B");
      auto st = http_download(url, file.string(), &bar, env_of(o));
      bar.finish();
      if (!st.ok()) {  // security archives, for one, publish no Contents files
        log_warn("skipping {}: {}", url, st.error().message());
        continue;
      }
    }
    FRAGUA_TRY(scan_contents_for_catalogs(file.string(), o.catalog_locales, counts));
    manifest["contents_indices"].push_back(url);
    ++scanned;
  }
  if (scanned == 0) return not_found_error("none of the {} Contents indices could be downloaded", urls.size());
  std::vector<std::string> pkgs;
  for (const auto& [p, n] : counts)
    if (valid_package_name(p)) pkgs.push_back(p);
  return pkgs;
}

// Unpacks and converts one package into cache/extracted/<deb>.jsonl.
Status extract_one(const std::string& deb, const fs::path& cache, SourceStats& stats, Env& env) {
  std::string base = fs::path(deb).stem().string();
  fs::path out = cache / "extracted" / (base + ".jsonl");
  if (env.file_exists(out.string())) return ok_status();
  std::string version;
  if (run_capture("dpkg-deb -f " + shell_quote(deb) + " Version", &version) != 0)
    return corruption_error("{}: not a Debian package: {}", deb, version);
  while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
  std::string pkg = base.substr(0, base.find('_'));
  fs::path tmp = cache / "unpack" / base;
  FRAGUA_TRY(remove_tree(tmp.string(), env));
  FRAGUA_TRY(env.create_dirs(tmp.string()));
  std::string msg;
  if (run_capture("dpkg-deb -x " + shell_quote(deb) + " " + shell_quote(tmp.string()), &msg) != 0) {
    (void)remove_tree(tmp.string(), env);  // the error reported is dpkg-deb's
    return corruption_error("{}: dpkg-deb -x failed: {}", deb, msg);
  }
  DebianPackage info{pkg, version, licence_of(env, tmp, pkg)};
  auto file = FRAGUA_TRY(AtomicFile::create(out.string(), env));
  Status st = ok_status();
  auto s = extract_debian_tree(
      tmp.string(), info,
      [&](Document&& d) {
        if (!st.ok()) return;
        nlohmann::json j = d.meta;
        j["text"] = std::move(d.text);
        j["lang"] = d.lang;
        j["id"] = d.id;
        j["source"] = d.source;
        st = file.append(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      },
      stats, env);
  // A leftover unpacked tree costs space, not the package: the next fetch clears it first.
  if (auto removed = remove_tree(tmp.string(), env); !removed.ok()) log_warn("{}", removed.error().message());
  FRAGUA_TRY(s);
  FRAGUA_TRY(st);
  return file.commit();
}

struct LangTotals {
  uint64_t docs = 0, bytes = 0, pairs = 0;
};

}  // namespace

Result<std::vector<std::string>> debian_preset(std::string_view preset) {
  std::vector<std::string> small = {"libreoffice-help-es", "libreoffice-help-ca",  "libreoffice-help-eu",
                                    "libreoffice-help-gl", "libreoffice-help-pt",  "libreoffice-help-en-us",
                                    "libreoffice-help-fr", "libreoffice-help-it",  "libreoffice-l10n-es",
                                    "libreoffice-l10n-ca", "libreoffice-l10n-eu",  "libreoffice-l10n-gl",
                                    "libreoffice-l10n-pt", "libreoffice-l10n-fr",  "libreoffice-l10n-it",
                                    "libreoffice-l10n-oc", "libreoffice-l10n-ast", "manpages-es",
                                    "fortunes-es",         "sword-text-sparv"};
  if (preset == "small") return small;
  if (preset == "full") {
    // Catalog-rich packages that ship their .mo files in the main package or a -l10n/-data one.
    for (const char* p : {"debian-handbook",
                          "gnome-user-docs",
                          "iso-codes",
                          "libc-l10n",
                          "util-linux-locales",
                          "coreutils",
                          "tar",
                          "grep",
                          "sed",
                          "findutils",
                          "diffutils",
                          "gettext",
                          "wget",
                          "bash",
                          "apt",
                          "dpkg",
                          "aptitude-common",
                          "nano",
                          "gimp-data",
                          "inkscape",
                          "gnome-shell-common",
                          "nautilus-data",
                          "evolution-data-server-common",
                          "libgtk2.0-common",
                          "libgtk-3-common",
                          "gedit-common",
                          "xfce4-session",
                          "thunar-data",
                          "vlc-l10n",
                          "firefox-esr-l10n-es-es",
                          "firefox-esr-l10n-ca",
                          "firefox-esr-l10n-eu",
                          "firefox-esr-l10n-gl",
                          "thunderbird-l10n-es-es",
                          "thunderbird-l10n-ca",
                          "thunderbird-l10n-eu",
                          "thunderbird-l10n-gl",
                          "libreoffice-l10n-pt-br",
                          "libreoffice-help-pt-br",
                          "manpages-pt",
                          "manpages-fr",
                          "manpages-it",
                          "fortunes-it",
                          "fortunes-eo"})
      small.push_back(p);
    return small;
  }
  return invalid_argument_error("unknown preset '{}' (small, full)", preset);
}

Status fetch_debian(const FetchOptions& o) {
  std::vector<std::string> pkgs = o.packages;
  if (pkgs.empty()) pkgs = FRAGUA_TRY(debian_preset(o.preset));
  nlohmann::json discovery = {{"contents_indices", nlohmann::json::array()}};
  for (const auto& p : pkgs)
    if (!valid_package_name(p)) return invalid_argument_error("bad package name '{}'", p);
  fs::path cache(o.cache_dir), debs = cache / "debs", out(o.out_dir);
  Env& env = env_of(o);
  FRAGUA_TRY(env.create_dirs(debs.string()));
  FRAGUA_TRY(env.create_dirs((cache / "extracted").string()));
  FRAGUA_TRY(env.create_dirs((out / "parallel").string()));
  if (o.packages.empty() && o.preset == "full") {
    auto found = find_catalog_packages(o, cache, discovery);
    if (found.ok()) {
      size_t before = pkgs.size();
      for (auto& p : *found)
        if (std::find(pkgs.begin(), pkgs.end(), p) == pkgs.end()) pkgs.push_back(p);
      discovery["catalog_packages"] = found->size();
      discovery["added_packages"] = pkgs.size() - before;
      log_info("Contents indices: {} packages ship catalogs in {}; {} packages in all", found->size(),
               fmt::join(o.catalog_locales, ", "), pkgs.size());
    } else {
      log_warn("package discovery failed ({}); fetching the preset's fixed list only", found.error().to_string());
    }
  }
  FRAGUA_TRY(download(o, pkgs, debs));

  std::vector<std::string> deb_files;
  for (const auto& p : pkgs)
    if (auto d = find_deb(env, debs, p); !d.empty()) deb_files.push_back(d);
  ThreadPool pool(o.threads > 0 ? o.threads : ThreadPool::default_threads());
  ProgressBar bar("extract", deb_files.size(), "pkg");
  std::mutex mu;
  SourceStats all;
  std::vector<std::string> errors;
  pool.parallel_for_dynamic(deb_files.size(), 1, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      SourceStats st;
      Status s = extract_one(deb_files[i], cache, st, env);
      std::lock_guard<std::mutex> lock(mu);
      all.merge(st);
      if (!s.ok()) errors.push_back(s.error().to_string());
      bar.add();
    }
  });
  bar.finish();
  for (const auto& w : all.warnings) log_warn("{}", w);
  for (const auto& e : errors) log_warn("{}", e);

  // Merge into <lang>.jsonl and parallel/<lang>-en.jsonl.
  std::map<std::string, AtomicFile> lang_files, pair_files;
  std::map<std::string, LangTotals> totals;
  nlohmann::json manifest = {{"format", "fragua-corpus-debian"},
                             {"version", 1},
                             {"preset", o.preset},
                             {"fragua", FRAGUA_VERSION},
                             {"packages", nlohmann::json::array()}};
  if (o.packages.empty() && o.preset == "full") manifest["discovery"] = discovery;
  for (const auto& deb : deb_files) {
    fs::path ex = cache / "extracted" / (fs::path(deb).stem().string() + ".jsonl");
    auto data = read_file(ex.string(), env);
    if (!data.ok()) continue;
    nlohmann::json pkg_entry;
    size_t pos = 0;
    while (pos < data->size()) {
      size_t nl = data->find('\n', pos);
      if (nl == std::string::npos) nl = data->size();
      auto parsed = parse_json(std::string_view(*data).substr(pos, nl - pos), "package record");
      pos = nl + 1;
      if (!parsed.ok() || !parsed->is_object()) continue;
      nlohmann::json& j = *parsed;
      std::string lang = j.value("lang", "");
      if (pkg_entry.is_null())
        pkg_entry = {{"package", j["package"]}, {"version", j["version"]}, {"licence", j["licence"]}};
      auto& t = totals[lang];
      if (j.contains("pairs")) {
        auto [it, fresh] = pair_files.try_emplace(
            lang, FRAGUA_TRY(AtomicFile::create((out / "parallel" / (lang + "-en.jsonl")).string(), env)));
        (void)fresh;
        for (const auto& p : j["pairs"]) {
          nlohmann::json pj = {{"en", p[0]},
                               {lang, p[1]},
                               {"package", j["package"]},
                               {"version", j["version"]},
                               {"licence", j["licence"]},
                               {"path", j.value("path", "")}};
          FRAGUA_TRY(it->second.append(pj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"));
          ++t.pairs;
        }
        j.erase("pairs");
      }
      t.docs++;
      t.bytes += j["text"].get_ref<const std::string&>().size();
      auto [it, fresh] =
          lang_files.try_emplace(lang, FRAGUA_TRY(AtomicFile::create((out / (lang + ".jsonl")).string(), env)));
      (void)fresh;
      FRAGUA_TRY(it->second.append(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"));
    }
    if (!pkg_entry.is_null()) manifest["packages"].push_back(pkg_entry);
  }
  for (auto& [l, f] : lang_files) FRAGUA_TRY(f.commit());
  for (auto& [l, f] : pair_files) FRAGUA_TRY(f.commit());
  std::string table = "| lang | documents | MB | parallel pairs |\n|---|---:|---:|---:|\n";
  for (const auto& [l, t] : totals) {
    table += fmt::format("| {} | {} | {:.2f} | {} |\n", l, t.docs, t.bytes / 1e6, t.pairs);
    manifest["languages"][l] = {{"documents", t.docs}, {"bytes", t.bytes}, {"pairs", t.pairs}};
  }
  manifest["bad_records"] = all.bad_records;
  FRAGUA_TRY(write_file_atomic((out / "manifest.json").string(), manifest.dump(2) + "\n", env));
  FRAGUA_TRY(write_file_atomic((out / "report.md").string(), "# Debian corpus (" + o.preset + ")\n\n" + table, env));
  std::fputs(table.c_str(), stdout);
  if (pair_files.count("es")) {
    // Pairs between our languages by pivoting on the English msgid (data/pairs.h).
    PairsOptions po;
    po.corpus_dir = o.out_dir;
    po.env = &env;
    auto pairs = FRAGUA_TRY(build_pivot_pairs(po));
    for (const auto& r : pairs) log_info("{}-{}: {} catalog pairs by English pivot", r.source, r.target, r.stats.pairs);
  }
  if (!errors.empty()) return corruption_error("{} package(s) failed to extract; first: {}", errors.size(), errors[0]);
  return ok_status();
}

}  // namespace fragua::data
