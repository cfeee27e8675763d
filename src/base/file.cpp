// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/file.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <mutex>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fragua {
namespace {

Error errno_error(std::string_view what, const std::string& path, int err) {
  ErrorCode code = (err == ENOENT) ? ErrorCode::not_found : ErrorCode::io;
  return Error(code, fmt::format("{}: {} failed: {}", path, what, std::strerror(err)));
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status append(std::string_view data) override {
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno_error("write", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }
  Status sync() override {
    if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS) return errno_error("fsync", path_, errno);
    return {};
  }
  Status close() override {
    if (fd_ < 0) return {};
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return errno_error("close", path_, errno);
    return {};
  }

 private:
  std::string path_;
  int fd_;
};

class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> new_writable_file(const std::string& path, bool append) override {
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return errno_error("open for writing", path, errno);
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }
  Result<std::unique_ptr<WritableFile>> new_exclusive_file(const std::string& path, int mode) override {
    const auto perm = static_cast<mode_t>(mode >= 0 ? (mode & 0777) : 0644);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
    if (fd < 0) return errno_error("create", path, errno);
    // open() applies the umask; an output that is being replaced keeps its own bits.
    if (mode >= 0 && ::fchmod(fd, perm) != 0) {
      int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return errno_error("chmod", path, err);
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(path, fd));
  }
  Result<std::string> read_file(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_error("open", path, errno);
    std::string out;
    char buf[1 << 16];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::close(fd);
        return errno_error("read", path, err);
      }
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
  }
  Status rename_file(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return errno_error("rename to " + to, from, errno);
    return {};
  }
  Status remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return errno_error("remove", path, errno);
    return {};
  }
  bool file_exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }
  Result<uint64_t> file_size(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return errno_error("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }
  Status create_dirs(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return io_error("{}: cannot create directory: {}", path, ec.message());
    return {};
  }
  Result<std::vector<DirEntry>> list_dir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (!d) return errno_error("list directory", path, errno);
    std::vector<DirEntry> out;
    errno = 0;
    while (const struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      bool dir = e->d_type == DT_DIR, reg = e->d_type == DT_REG;
      if (e->d_type == DT_UNKNOWN) {  // some file systems (XFS without ftype) leave it to lstat
        struct stat st;
        const bool known = ::lstat((path + "/" + name).c_str(), &st) == 0;
        dir = known && S_ISDIR(st.st_mode);
        reg = known && S_ISREG(st.st_mode);
      }
      out.push_back({std::move(name), dir, reg});
      errno = 0;
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return errno_error("list directory", path, err);
    std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return out;
  }
  bool is_directory(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }
  Status remove_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return errno_error("remove directory", path, errno);
    return {};
  }
};

// ---- live temporaries, removed by a signal handler ----------------------------------------------
// A fixed table, because the handler may only call async-signal-safe functions (POSIX.1-2017
// 2.4.3: unlink, signal and raise are; malloc and locks are not). A slot is free (0), claimed by
// a writer or the handler (1), or holds the path of a live temporary (2).
constexpr int kMaxLiveTemporaries = 256;    // AtomicFiles open at once whose signal cleanup is assured
constexpr size_t kMaxTemporaryPath = 4096;  // PATH_MAX on Linux
struct LiveSlot {
  std::atomic<int> state{0};
  char path[kMaxTemporaryPath];
};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");
LiveSlot g_live[kMaxLiveTemporaries];

extern "C" void remove_temporaries_and_reraise(int sig) {
  remove_live_temporaries();
  // Die of the same signal so the parent sees how the process ended (a shell reports 130 for
  // SIGINT) and stops a script that ran it: https://www.cons.org/cracauer/sigint.html
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Installs the handler for the signals that end an interactive job, where their action is still
// the default: a program that handles them itself (`fragua train` checkpoints on SIGINT) commits
// or abandons its files on its own way out.
void install_signal_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) != 0) continue;
      if ((old.sa_flags & SA_SIGINFO) != 0 || old.sa_handler != SIG_DFL) continue;
      struct sigaction sa {};
      sa.sa_handler = remove_temporaries_and_reraise;
      sigfillset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

int register_temporary(const std::string& path) {
  if (path.size() >= kMaxTemporaryPath) return -1;
  for (int i = 0; i < kMaxLiveTemporaries; ++i) {
    int free_slot = 0;
    if (!g_live[i].state.compare_exchange_strong(free_slot, 1)) continue;
    std::memcpy(g_live[i].path, path.c_str(), path.size() + 1);
    g_live[i].state.store(2, std::memory_order_release);
    return i;
  }
  return -1;  // table full: the destructor and the next run's stale cleanup still remove it
}

void unregister_temporary(int slot) {
  if (slot < 0) return;
  int live = 2;
  if (g_live[slot].state.compare_exchange_strong(live, 1)) g_live[slot].state.store(0, std::memory_order_release);
}

// 64 random bits as hex: the temporary's name cannot be guessed in advance.
std::string random_suffix() {
  uint64_t r = 0;
  if (::getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
    static std::atomic<uint64_t> counter{0};
    r = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (counter.fetch_add(1) * 0x9E3779B97F4A7C15ull) ^ (static_cast<uint64_t>(::getpid()) << 40);
  }
  return fmt::format("{:016x}", r);
}

}  // namespace

Env& Env::posix() {
  static PosixEnv env;
  return env;
}

void remove_live_temporaries() {
  for (auto& slot : g_live) {
    int live = 2;
    if (slot.state.compare_exchange_strong(live, 1)) ::unlink(slot.path);
  }
}

// ---- AtomicFile --------------------------------------------------------------------------------

AtomicFile::AtomicFile(Env* env, std::string path, std::string tmp, std::unique_ptr<WritableFile> file, int slot)
    : env_(env), path_(std::move(path)), tmp_path_(std::move(tmp)), file_(std::move(file)), slot_(slot) {}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : env_(o.env_),
      path_(std::move(o.path_)),
      tmp_path_(std::move(o.tmp_path_)),
      file_(std::move(o.file_)),
      written_(o.written_),
      slot_(o.slot_) {
  o.tmp_path_.clear();
  o.slot_ = -1;
}

AtomicFile& AtomicFile::operator=(AtomicFile&& o) noexcept {
  if (this != &o) {
    abandon();
    env_ = o.env_;
    path_ = std::move(o.path_);
    tmp_path_ = std::move(o.tmp_path_);
    file_ = std::move(o.file_);
    written_ = o.written_;
    slot_ = o.slot_;
    o.tmp_path_.clear();
    o.slot_ = -1;
  }
  return *this;
}

AtomicFile::~AtomicFile() { abandon(); }

void AtomicFile::abandon() {
  if (file_) {
    (void)file_->close();
    file_.reset();
  }
  if (!tmp_path_.empty()) {
    (void)env_->remove_file(tmp_path_);
    tmp_path_.clear();
  }
  unregister_temporary(slot_);
  slot_ = -1;
}

Result<AtomicFile> AtomicFile::create(const std::string& path, Env& env) {
  install_signal_cleanup();
  remove_stale_temporaries(path);
  int mode = -1;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) mode = static_cast<int>(st.st_mode & 0777);
  std::string tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), random_suffix());
  // Listed before it exists, so that no instant passes in which a signal would leave it behind.
  const int slot = register_temporary(tmp);
  auto file = env.new_exclusive_file(tmp, mode);
  if (!file.ok()) {
    unregister_temporary(slot);
    return std::move(file).error();
  }
  return AtomicFile(&env, path, std::move(tmp), std::move(file).value(), slot);
}

Status AtomicFile::append(std::string_view data) {
  if (!file_) return invalid_argument_error("{}: write after commit", path_);
  FRAGUA_TRY(file_->append(data));
  written_ += data.size();
  return {};
}

Status AtomicFile::commit() {
  if (!file_) return invalid_argument_error("{}: committed twice", path_);
  FRAGUA_TRY(file_->sync());
  FRAGUA_TRY(file_->close());
  file_.reset();
  FRAGUA_TRY(env_->rename_file(tmp_path_, path_));
  tmp_path_.clear();
  unregister_temporary(slot_);
  slot_ = -1;
  return {};
}

size_t remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string prefix = target.filename().string() + ".tmp-";
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  size_t removed = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    // "<pid>-<suffix>": only temporaries whose writer is gone (kill(pid, 0) fails with ESRCH).
    size_t i = prefix.size(), dash = name.find('-', i);
    if (dash == std::string::npos || dash == i || dash - i > 9 || dash + 1 == name.size()) continue;
    long pid = 0;
    bool digits = true;
    for (size_t k = i; k < dash; ++k) {
      if (name[k] < '0' || name[k] > '9')
        digits = false;
      else
        pid = pid * 10 + (name[k] - '0');
    }
    if (!digits || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code sec;
    if (it->symlink_status(sec).type() != fs::file_type::regular) continue;  // never a planted symlink
    if (::unlink(it->path().c_str()) == 0) ++removed;
  }
  return removed;
}

// ---- FileLock ------------------------------------------------------------------------------------

Result<FileLock> FileLock::acquire(const std::string& path, std::string_view subject, std::string_view holder) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return errno_error("open lock file", path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    ssize_t n = err == EWOULDBLOCK ? ::pread(fd, buf, sizeof buf - 1, 0) : -1;
    ::close(fd);
    if (err != EWOULDBLOCK) return errno_error("lock", path, err);
    std::string pid(buf, n > 0 ? static_cast<size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) pid = "unknown";
    return io_error("{} is in use by another {} (pid {})", subject, holder, pid);
  }
  const std::string me = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    const int err = errno;
    ::close(fd);
    return errno_error("write lock file", path, err);
  }
  return FileLock(path, fd);
}

FileLock::FileLock(FileLock&& o) noexcept : path_(std::move(o.path_)), fd_(o.fd_) { o.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(o.path_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

// Closing the descriptor releases the lock (flock(2)).
FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

Status write_file_atomic(const std::string& path, std::string_view data, Env& env) {
  auto file = FRAGUA_TRY(AtomicFile::create(path, env));
  FRAGUA_TRY(file.append(data));
  return file.commit();
}

Result<std::string> read_file(const std::string& path, Env& env) { return env.read_file(path); }

Status remove_tree(const std::string& path, Env& env) {
  // lstat, not env.is_directory: a symlink named as the root is unlinked, never followed.
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return errno_error("stat", path, errno);
  }
  if (!S_ISDIR(st.st_mode)) return env.remove_file(path);
  for (const auto& e : FRAGUA_TRY(env.list_dir(path))) {
    const std::string child = path + "/" + e.name;
    FRAGUA_TRY(e.is_directory ? remove_tree(child, env) : env.remove_file(child));
  }
  return env.remove_dir(path);
}

// ---- MappedFile --------------------------------------------------------------------------------

Result<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return errno_error("stat", path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return invalid_argument_error("{}: is a directory, expected a file", path);
  }
  MappedFile m;
  m.path_ = path;
  m.size_ = static_cast<uint64_t>(st.st_size);
  if (m.size_ > 0) {
    void* p = ::mmap(nullptr, m.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      m.data_ = static_cast<const uint8_t*>(p);
      m.mapped_ = true;
    } else {
      ::close(fd);
      auto contents = FRAGUA_TRY(Env::posix().read_file(path));
      m.owned_ = std::make_unique<uint8_t[]>(contents.size());
      std::memcpy(m.owned_.get(), contents.data(), contents.size());
      m.data_ = m.owned_.get();
      m.size_ = contents.size();
      return m;
    }
  }
  ::close(fd);
  return m;
}

MappedFile::MappedFile(MappedFile&& o) noexcept
    : path_(std::move(o.path_)), data_(o.data_), size_(o.size_), mapped_(o.mapped_), owned_(std::move(o.owned_)) {
  o.data_ = nullptr;
  o.size_ = 0;
  o.mapped_ = false;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    reset();
    path_ = std::move(o.path_);
    data_ = o.data_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    owned_ = std::move(o.owned_);
    o.data_ = nullptr;
    o.size_ = 0;
    o.mapped_ = false;
  }
  return *this;
}

MappedFile::~MappedFile() { reset(); }

void MappedFile::reset() {
  if (mapped_ && data_) ::munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
  owned_.reset();
}

void MappedFile::prefetch() const {
  if (mapped_ && data_) ::madvise(const_cast<uint8_t*>(data_), size_, MADV_WILLNEED);
}

void MappedFile::release(const void* p, uint64_t n) const {
  const auto* b = static_cast<const uint8_t*>(p);
  if (!mapped_ || !data_ || b < data_ || n > size_ || b - data_ > static_cast<std::ptrdiff_t>(size_ - n)) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t start = (reinterpret_cast<uintptr_t>(b) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(b) + n) / page * page;
  if (end > start) ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
}

}  // namespace fragua
