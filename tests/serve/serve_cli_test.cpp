// SPDX-License-Identifier: Apache-2.0
// `fragua serve` as a process: it serves, stops on SIGTERM with exit status 0, and refuses a
// model it cannot load or a bad serve.yaml with status 1 and a message naming the file.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "serve/fixtures.h"

namespace fragua::serve {
namespace {

using namespace fragua::serve::test;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts `fragua serve ARGS...` with stderr into `log`.
pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "w");
    if (f) dup2(fileno(f), 2);
    std::vector<char*> argv;
    std::string cli = fragua::test::cli_path();
    argv.push_back(cli.data());
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(cli.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for the process to end (up to `seconds`); its exit status, or -1.
int wait_exit(pid_t pid, double seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > seconds) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ServeCli, ServesAndStopsOnSigterm) {
  auto files = write_model_files(256);
  const std::string log = files->dir.file("serve.log");
  // The file's host and port would not bind; the flags override them.
  const std::string yaml = files->dir.file("serve.yaml");
  std::ofstream(yaml) << "host: 256.0.0.1\nport: 1\nparallel: 1\nctx: 128\n";
  pid_t pid = spawn({"serve", files->model, "--config", yaml, "--tokenizer", files->tokenizer, "--template", "chatml",
                     "--host", "127.0.0.1", "--port", "0", "-t", "1"},
                    log);
  ASSERT_GT(pid, 0);
  int port = 0;
  std::string text;
  for (int i = 0; i < 3000 && text.find("ready") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    text = slurp(log);
  }
  const size_t at = text.find("http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << text;
  port = std::atoi(text.c_str() + at + 17);
  ASSERT_GT(port, 0) << text;
  httplib::Client c("127.0.0.1", port);
  auto r = c.Post("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "Hola"}], "max_tokens": 3})",
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  kill(pid, SIGTERM);
  EXPECT_EQ(wait_exit(pid, 30), 0) << slurp(log);
  EXPECT_FALSE(c.Get("/health"));  // nobody listens any more
}

TEST(ServeCli, RefusesWhatItCannotServe) {
  auto files = write_model_files(256);
  const std::string log = files->dir.file("serve.log");
  pid_t pid = spawn({"serve", files->dir.file("missing.gguf"), "--port", "0"}, log);
  EXPECT_EQ(wait_exit(pid, 30), 1);
  EXPECT_NE(slurp(log).find("missing.gguf"), std::string::npos) << slurp(log);

  const std::string yaml = files->dir.file("serve.yaml");
  std::ofstream(yaml) << "port: 0\nslots: 2\n";
  pid = spawn({"serve", files->model, "--config", yaml}, log);
  EXPECT_EQ(wait_exit(pid, 30), 1);
  EXPECT_NE(slurp(log).find("serve.yaml: line 2: unknown key 'slots'"), std::string::npos) << slurp(log);
}

}  // namespace
}  // namespace fragua::serve
