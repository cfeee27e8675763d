// serve.yaml: every key read, and each mistake named with its file and line.
#include <gtest/gtest.h>

#include "fragua/serve/server.h"
#include "test_util.h"

namespace fragua::serve {
namespace {

TEST(ServerConfig, ReadsEveryKey) {
  ServerOptions o;
  const char* yaml = R"(host: 0.0.0.0
port: 9000
parallel: 8
ctx: 2048
threads: 3
max_queue: 5
api_keys: [a, b]
max_body_bytes: 65536
model_name: salamandra
chat_template: chatml
timeout_s: 30.5
)";
  ASSERT_TRUE(parse_server_config(yaml, "serve.yaml", o).ok());
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(o.port, 9000);
  EXPECT_EQ(o.scheduler.n_slots, 8);
  EXPECT_EQ(o.scheduler.n_ctx_per_seq, 2048);
  EXPECT_EQ(o.scheduler.n_threads, 3);
  EXPECT_EQ(o.scheduler.max_queue, 5u);
  EXPECT_EQ(o.api_keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(o.max_body_bytes, 65536u);
  EXPECT_EQ(o.model_name, "salamandra");
  EXPECT_EQ(o.chat_template, "chatml");
  EXPECT_DOUBLE_EQ(o.request_timeout_s, 30.5);
}

TEST(ServerConfig, AbsentKeysKeepTheirValues) {
  ServerOptions o;
  o.port = 1234;
  ASSERT_TRUE(parse_server_config("host: ::1\n", "serve.yaml", o).ok());
  EXPECT_EQ(o.port, 1234);
  EXPECT_EQ(o.host, "::1");
  ASSERT_TRUE(parse_server_config("", "serve.yaml", o).ok());
}

TEST(ServerConfig, MistakesNameFileLineAndKey) {
  struct Case {
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"port: 8080\nprot: 1\n", "serve.yaml: line 2: unknown key 'prot'"},
      {"port: many\n", "serve.yaml: line 1: 'port' has the wrong type"},
      {"port: 70000\n", "serve.yaml: line 1: 'port' is 70000, outside [0, 65535]"},
      {"parallel: 0\n", "'parallel' is 0, outside [1, 1024]"},
      {"api_keys: k\n", "serve.yaml: line 1: 'api_keys' must be a list"},
      {"- a\n- b\n", "serve.yaml: expected a mapping of options"},
      {"host: [\n", "serve.yaml: line"},
  };
  for (const Case& c : cases) {
    ServerOptions o;
    Status st = parse_server_config(c.yaml, "serve.yaml", o);
    ASSERT_FALSE(st.ok()) << c.yaml;
    EXPECT_NE(st.error().message().find(c.want), std::string::npos) << st.error().message();
  }
}

TEST(ServerConfig, ReadsAFile) {
  fragua::test::TempDir dir;
  ASSERT_TRUE(write_file_atomic(dir.file("serve.yaml"), "port: 0\n").ok());
  ServerOptions o;
  ASSERT_TRUE(read_server_config(dir.file("serve.yaml"), o).ok());
  EXPECT_EQ(o.port, 0);
  Status missing = read_server_config(dir.file("none.yaml"), o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("none.yaml"), std::string::npos);
}

}  // namespace
}  // namespace fragua::serve
