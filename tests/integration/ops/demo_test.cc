// The README's first command runs `kmirrord --demo`: embedded clusters, a producer, the flow A->B.
// Run as a newcomer would, for as long as it takes to show replication (about 20 s): what it
// prints, the metrics URL it names, the topics on B, and a clean stop on SIGTERM.
#include <signal.h>

#include <regex>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "tests/support/kmirrord_process.h"
#include "tests/support/process.h"

namespace kmirror::testing {
namespace {

// The first match of `re`'s group 1 in `text`, or "".
std::string Find(const std::string& text, const std::string& re) {
  std::smatch m;
  if (std::regex_search(text, m, std::regex(re))) return m[1];
  return "";
}

// The newest "[A->B] replicated N records" figure printed, or -1.
int64_t LastReplicated(const std::string& out) {
  static const std::regex line(R"(\[A->B\] replicated (\d+) records)");
  int64_t last = -1;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator();
       ++it) {
    last = std::stoll((*it)[1]);
  }
  return last;
}

TEST(DemoTest, ReplicatesWithinSecondsServesMetricsAndStopsCleanly) {
  TempDir dir;
  const std::string out_path = dir.File("demo.out");
  auto demo = Subprocess::Start({BinPath("kmirrord"), "--demo"}, out_path, dir.File("demo.err"));
  ASSERT_TRUE(demo.has_value());
  std::string out;
  // Positive signals: the banner, then a status line with records replicated and lag reported.
  ASSERT_TRUE(WaitFor(
      [&] {
        out = ReadFile(out_path);
        return LastReplicated(out) > 0;
      },
      std::chrono::seconds(60)))
      << out << ReadFile(dir.File("demo.err"));
  EXPECT_NE(out.find("kmirror demo: clusters A and B are embedded Kafka clusters"),
            std::string::npos)
      << out;
  const std::string metrics = Find(out, R"(metrics:\s+(http://127\.0\.0\.1:\d+/metrics))");
  ASSERT_FALSE(metrics.empty()) << out;
  auto scraped = RunCommand({"curl", "-sf", metrics});
  ASSERT_EQ(scraped.exit_code, 0) << metrics;
  EXPECT_NE(scraped.out.find("kmirror_replication_lag_records{"), std::string::npos);
  EXPECT_NE(scraped.out.find("kmirror_flow_phase{flow=\"A->B\",phase=\"running\"} 1"),
            std::string::npos);
  const std::string b = Find(out, R"(B bootstrap: (\S+))");
  ASSERT_FALSE(b.empty()) << out;
  auto admin = kafka::AdminClient::Create(kafka::Properties{{"bootstrap.servers", b}});
  ASSERT_TRUE(admin.ok()) << admin.status();
  auto md = (*admin)->Metadata(std::nullopt, std::chrono::seconds(10));
  ASSERT_TRUE(md.ok()) << md.status();
  std::set<std::string> topics;
  for (const auto& t : md->topics) topics.insert(t.name);
  for (const char* t : {"A.orders", "A.payments", "A.inventory"}) {
    EXPECT_TRUE(topics.count(t)) << t << " is not on B";
  }
  demo->Signal(SIGTERM);
  auto code = demo->Wait(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value()) << "kmirrord --demo did not stop on SIGTERM";
  EXPECT_EQ(*code, 0) << ReadFile(dir.File("demo.err"));
  EXPECT_NE(ReadFile(out_path).find("stopping: draining in-flight records"), std::string::npos);
}

}  // namespace
}  // namespace kmirror::testing
