#include "fragua/base/file.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/mman.h>
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
};

std::atomic<uint64_t> g_tmp_counter{0};

}  // namespace

Env& Env::posix() {
  static PosixEnv env;
  return env;
}

// ---- AtomicFile --------------------------------------------------------------------------------

AtomicFile::AtomicFile(Env* env, std::string path, std::string tmp, std::unique_ptr<WritableFile> file)
    : env_(env), path_(std::move(path)), tmp_path_(std::move(tmp)), file_(std::move(file)) {}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : env_(o.env_), path_(std::move(o.path_)), tmp_path_(std::move(o.tmp_path_)), file_(std::move(o.file_)),
      written_(o.written_) {
  o.tmp_path_.clear();
}

AtomicFile& AtomicFile::operator=(AtomicFile&& o) noexcept {
  if (this != &o) {
    abandon();
    env_ = o.env_;
    path_ = std::move(o.path_);
    tmp_path_ = std::move(o.tmp_path_);
    file_ = std::move(o.file_);
    written_ = o.written_;
    o.tmp_path_.clear();
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
}

Result<AtomicFile> AtomicFile::create(const std::string& path, Env& env) {
  std::string tmp = fmt::format("{}.tmp-{}-{}", path, ::getpid(), g_tmp_counter.fetch_add(1));
  auto file = FRAGUA_TRY(env.new_writable_file(tmp));
  return AtomicFile(&env, path, std::move(tmp), std::move(file));
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
  return {};
}

Status write_file_atomic(const std::string& path, std::string_view data, Env& env) {
  auto file = FRAGUA_TRY(AtomicFile::create(path, env));
  FRAGUA_TRY(file.append(data));
  return file.commit();
}

Result<std::string> read_file(const std::string& path, Env& env) { return env.read_file(path); }

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
