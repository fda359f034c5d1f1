// Syncer: keeps one flow's remote topics like their source topics. It creates remote topics
// (source partition count, replication factor capped at the target's broker count, filtered
// non-default source configs), adds partitions when a source topic grows, syncs topic configs and
// ACLs periodically, and computes the same changes without applying them for `--plan`.
//
// Threads: CreateRemoteTopic/GrowRemoteTopic are called by the flow's discovery thread; the
// periodic config and ACL syncs run on the Syncer's own thread (Start/Stop). Sync*/Plan may be
// called from any thread: config and ACL runs are serialized by a mutex. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/topicsync/admin.h"
#include "lib/topicsync/change.h"
#include "lib/topicsync/probe.h"
#include "lib/topicsync/rules.h"

namespace kmirror::topicsync {

// MirrorMaker 2's default config exclusions (DefaultConfigPropertyFilter), as RE2 patterns.
inline const std::vector<std::string>& Mm2ConfigExclude() {
  static const auto* list =
      new std::vector<std::string>{"follower\\.replication\\.throttled\\.replicas",
                                   "leader\\.replication\\.throttled\\.replicas",
                                   "message\\.timestamp\\.difference\\.max\\.ms",
                                   "message\\.timestamp\\.type",
                                   "unclean\\.leader\\.election\\.enable",
                                   "min\\.insync\\.replicas"};
  return *list;
}

// The flow's topic selection and naming, and its group filter (the parts SIGHUP may change).
struct Selection {
  std::function<bool(const std::string&)> replicate_topic;
  std::function<std::string(const std::string&)> remote_topic;
  std::function<bool(const std::string&)> sync_group;  // null: no group is selected
};

struct SyncOptions {
  std::string flow;             // for logs
  int replication_factor = -1;  // -1: the target broker's default
  bool config_sync = true;
  std::chrono::milliseconds config_sync_interval{30000};
  std::vector<std::string> config_exclude = Mm2ConfigExclude();
  DefaultsFrom defaults_from = DefaultsFrom::kTarget;
  bool acl_sync = true;
  std::chrono::milliseconds acl_sync_interval{30000};
  AclRules acl;
  Selection selection;
  // First retry delay after a failed run; doubles up to the task's interval.
  std::chrono::milliseconds min_backoff{1000};
};

// Changes made (or planned) by one run, and what went wrong in it.
struct SyncResult {
  std::vector<Change> changes;
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
  void Append(SyncResult other);
};

class Syncer {
 public:
  // `admin` and `ledger` must outlive the Syncer; `probe` may be null.
  static absl::StatusOr<std::unique_ptr<Syncer>> Create(SyncOptions options, SyncAdmin* admin,
                                                        AclLedger* ledger, TopicSyncProbe* probe);
  ~Syncer();
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  // Creates `remote` for `source` with the source's partition count and filtered configs. OK when
  // the topic already exists.
  absl::Status CreateRemoteTopic(const TopicInfo& source, const std::string& remote);
  // Grows `remote` (now `current` partitions) to the source's partition count.
  absl::Status GrowRemoteTopic(const TopicInfo& source, const std::string& remote, int32_t current);

  // One run of each task; with apply=false nothing is changed and the changes are predicted.
  SyncResult SyncTopics(bool apply);
  SyncResult SyncConfigs(bool apply);
  SyncResult SyncAcls(bool apply);
  // Everything the next runs would change (topics, configs, ACLs), applying nothing.
  SyncResult Plan();

  // New topic and group filters (SIGHUP), used from the next run on. kInvalidArgument if a
  // function is missing.
  absl::Status SetSelection(Selection selection);

  // The periodic config and ACL syncs (first run at once). Stop() is idempotent.
  void Start();
  void Stop();

 private:
  Syncer(SyncOptions options, ConfigFilter filter, SyncAdmin* admin, AclLedger* ledger,
         TopicSyncProbe* probe);
  struct Pair {
    TopicInfo source;
    std::string remote;
    int32_t remote_partitions = -1;  // -1: the remote topic does not exist
  };
  // The flow's source topics and their remote names; nullopt (error noted in `result`) when a
  // cluster cannot be listed.
  std::optional<std::vector<Pair>> Pairs(SyncResult& result);
  absl::StatusOr<std::map<std::string, std::string>> CreationConfigsFor(const std::string& topic);
  // The flow's replication factor, capped at the target's broker count (logged when `warn`).
  absl::StatusOr<int> ReplicationFactor(const std::string& remote, bool warn);
  void Applied(const Change& change);
  void Loop();

  const SyncOptions options_;
  const ConfigFilter filter_;
  SyncAdmin* admin_;
  AclLedger* ledger_;
  TopicSyncProbe* probe_;

  Selection CurrentSelection();

  std::mutex run_mu_;  // one config or ACL run at a time
  std::mutex selection_mu_;
  Selection selection_;  // guarded by selection_mu_

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kmirror::topicsync
