// SPDX-License-Identifier: Apache-2.0
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

TEST(ServerConfig, ReadsTheGuardrailKeys) {
  ServerOptions o;
  const char* yaml = R"(api_keys:
  - plain-key
  - {key: team-key, id: equipo-a, rpm: 60, tpm: 40000}
  - key: other-key
    tpm: 0
redact: both
redact_kinds: [dni, nie, email]
audit_log: /var/log/fragua/audit.jsonl
audit_max_bytes: 1048576
audit_keep: 3
rate_limit_rpm: 120
rate_limit_tpm: 100000
cors_origins: ["https://intranet.example", "*"]
)";
  Status st = parse_server_config(yaml, "serve.yaml", o);
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(o.api_keys, (std::vector<std::string>{"plain-key", "team-key", "other-key"}));
  ASSERT_EQ(o.key_policies.size(), 2u);
  EXPECT_EQ(o.key_policies[0].key, "team-key");
  EXPECT_EQ(o.key_policies[0].id, "equipo-a");
  EXPECT_EQ(o.key_policies[0].rpm, 60);
  EXPECT_EQ(o.key_policies[0].tpm, 40000);
  EXPECT_EQ(o.key_policies[1].rpm, -1);  // the server's
  EXPECT_EQ(o.key_policies[1].tpm, 0);   // none
  EXPECT_EQ(o.redact, RedactMode::both);
  EXPECT_EQ(o.redact_kinds, (1u << 2) | (1u << 3) | (1u << 0));
  EXPECT_EQ(o.audit_log, "/var/log/fragua/audit.jsonl");
  EXPECT_EQ(o.audit_max_bytes, 1048576u);
  EXPECT_EQ(o.audit_keep, 3);
  EXPECT_EQ(o.rate_limit_rpm, 120);
  EXPECT_EQ(o.rate_limit_tpm, 100000);
  EXPECT_EQ(o.cors_origins, (std::vector<std::string>{"https://intranet.example", "*"}));
  ASSERT_TRUE(parse_server_config("redact_kinds: phone,card\n", "serve.yaml", o).ok());
  EXPECT_EQ(o.redact_kinds, (1u << 1) | (1u << 6));
  EXPECT_EQ(*parse_pii_kinds("all"), 0xFFu);
  EXPECT_EQ(api_key_id("sk-test").size(), 8u);
  EXPECT_NE(api_key_id("sk-test"), api_key_id("sk-tesu"));
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
      {"redact: all\n", "serve.yaml: line 1: redact 'all': expected none, requests, responses or both"},
      {"redact_kinds: dni,passport\n", "serve.yaml: line 1: personal-data kind 'passport' is not one of"},
      {"api_keys:\n  - {id: x}\n", "serve.yaml: line 2: api_keys[0] has no 'key'"},
      {"api_keys:\n  - {key: k, rps: 1}\n", "serve.yaml: line 2: unknown key 'rps' in api_keys[0]"},
      {"api_keys:\n  - {key: k, rpm: -1}\n", "'api_keys[0].rpm' is -1"},
      {"cors_origins: '*'\n", "serve.yaml: line 1: 'cors_origins' must be a list"},
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
