// The Debian package: `cpack -G DEB` on this build tree (what scripts/package runs, a few
// seconds) yields a .deb that declares its dependencies, marks the configuration as a conffile,
// creates the service user, and, unpacked into a scratch root, holds the units, the dashboard,
// the docs and an example configuration that the packaged kmirrord accepts.
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/ops/source_dir.h"
#include "tests/support/process.h"

namespace kmirror::testing {
namespace {

namespace fs = std::filesystem;

class PackageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto r = RunCommand({"cpack", "-G", "DEB", "--config",
                         std::string(KMIRROR_BUILD_DIR) + "/CPackConfig.cmake", "-B", dir_->path()},
                        "", std::chrono::seconds(120));
    cpack_output_ = r.out + r.err;
    if (r.exit_code != 0) return;
    for (const auto& e : fs::directory_iterator(dir_->path())) {
      if (e.path().extension() == ".deb") deb_ = e.path().string();
    }
    if (!deb_.empty()) {
      root_ = dir_->File("root");
      RunCommand({"dpkg-deb", "-x", deb_, root_});
      control_ = dir_->File("control");
      RunCommand({"dpkg-deb", "-e", deb_, control_});
    }
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_FALSE(deb_.empty()) << "cpack produced no .deb:\n" << cpack_output_;
  }

  static std::string Field(const std::string& name) {
    auto r = RunCommand({"dpkg-deb", "--field", deb_, name});
    std::string v = r.out;
    while (!v.empty() && v.back() == '\n') v.pop_back();
    return v;
  }

  static inline TempDir* dir_ = nullptr;
  static inline std::string cpack_output_, deb_, root_, control_;
};

TEST_F(PackageTest, DeclaresItsDependenciesAndMaintainerScripts) {
  EXPECT_EQ(Field("Package"), "kmirror");
  const std::string depends = Field("Depends");
  // From dpkg-shlibdeps on the packaged binaries, plus adduser for the postinst.
  for (const char* dep :
       {"librdkafka1", "libre2-", "libprometheus-cpp-pull", "libsystemd0", "libc6", "adduser"}) {
    EXPECT_NE(depends.find(dep), std::string::npos) << dep << " missing from: " << depends;
  }
  EXPECT_EQ(ReadFile(control_ + "/conffiles"), "/etc/kmirror/kmirrord.toml\n");
  for (const char* script : {"postinst", "prerm", "postrm"}) {
    const std::string path = control_ + "/" + script;
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0) << script;
    EXPECT_TRUE(st.st_mode & S_IXUSR) << script << " is not executable";
    EXPECT_EQ(RunCommand({"sh", "-n", path}).exit_code, 0) << script << " has a syntax error";
  }
  const std::string postinst = ReadFile(control_ + "/postinst");
  EXPECT_NE(postinst.find("adduser --system"), std::string::npos) << "no service user created";
  EXPECT_NE(postinst.find("daemon-reload"), std::string::npos);
}

TEST_F(PackageTest, InstallsTheFilesWhereTheUnitsAndDocsSayTheyAre) {
  for (const char* file :
       {"usr/bin/kmirrord", "lib/systemd/system/kmirrord.service",
        "lib/systemd/system/kmirrord@.service", "etc/kmirror/kmirrord.toml",
        "usr/share/kmirror/grafana/kmirror.json", "usr/share/kmirror/grafana/kmirror-alerts.yml",
        "usr/share/doc/kmirror/README.md", "usr/share/doc/kmirror/operations.md",
        "usr/share/doc/kmirror/configuration.md",
        "usr/share/doc/kmirror/examples/active-active.toml"}) {
    EXPECT_TRUE(fs::exists(root_ + "/" + file)) << file;
  }
  // The units and the dashboard are the repository's, unchanged.
  EXPECT_EQ(ReadFile(root_ + "/lib/systemd/system/kmirrord.service"),
            ReadFile(SourceDir() + "/systemd/kmirrord.service"));
  EXPECT_EQ(ReadFile(root_ + "/usr/share/kmirror/grafana/kmirror.json"),
            ReadFile(SourceDir() + "/grafana/kmirror.json"));
  // Only the shipped commands: no test or benchmark binaries.
  for (const auto& e : fs::directory_iterator(root_ + "/usr/bin")) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "kmirrord" || name == "kmirrorctl" || name == "kmirror-sandbox") << name;
  }
}

TEST_F(PackageTest, PackagedKmirrordAcceptsThePackagedConfiguration) {
  // The unit runs exactly this: /usr/bin/kmirrord --config /etc/kmirror/kmirrord.toml.
  auto r = RunCommand(
      {root_ + "/usr/bin/kmirrord", "--check-config", root_ + "/etc/kmirror/kmirrord.toml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace kmirror::testing
