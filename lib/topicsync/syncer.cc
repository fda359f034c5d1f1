#include "lib/topicsync/syncer.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "fmt/format.h"
#include "lib/common/logging.h"

namespace kmirror::topicsync {

namespace {

std::string StatusText(const absl::Status& s) { return std::string(s.message()); }

std::string DescribeCreation(int32_t partitions, int rf,
                             const std::map<std::string, std::string>& configs) {
  std::string out = fmt::format("partitions={} replication_factor={}", partitions, rf);
  for (const auto& [k, v] : configs) out += fmt::format(" {}={}", k, v);
  return out;
}

std::set<std::string> Keys(const std::vector<kafka::AclBinding>& bindings) {
  std::set<std::string> out;
  for (const auto& b : bindings) out.insert(AclKey(b));
  return out;
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

void SyncResult::Append(SyncResult other) {
  for (auto& c : other.changes) changes.push_back(std::move(c));
  for (auto& e : other.errors) errors.push_back(std::move(e));
}

absl::StatusOr<std::unique_ptr<Syncer>> Syncer::Create(SyncOptions options, SyncAdmin* admin,
                                                       AclLedger* ledger, TopicSyncProbe* probe) {
  auto filter = ConfigFilter::Create(options.config_exclude);
  if (!filter.ok()) return filter.status();
  Selection selection = std::move(options.selection);
  std::unique_ptr<Syncer> syncer(
      new Syncer(std::move(options), std::move(*filter), admin, ledger, probe));
  if (absl::Status s = syncer->SetSelection(std::move(selection)); !s.ok()) return s;
  return syncer;
}

absl::Status Syncer::SetSelection(Selection selection) {
  if (!selection.replicate_topic || !selection.remote_topic) {
    return absl::InvalidArgumentError("topic sync needs the flow's topic selection and naming");
  }
  if (!selection.sync_group) selection.sync_group = [](const std::string&) { return false; };
  std::lock_guard<std::mutex> lock(selection_mu_);
  selection_ = std::move(selection);
  return absl::OkStatus();
}

Selection Syncer::CurrentSelection() {
  std::lock_guard<std::mutex> lock(selection_mu_);
  return selection_;
}

Syncer::Syncer(SyncOptions options, ConfigFilter filter, SyncAdmin* admin, AclLedger* ledger,
               TopicSyncProbe* probe)
    : options_(std::move(options)),
      filter_(std::move(filter)),
      admin_(admin),
      ledger_(ledger),
      probe_(probe) {}

Syncer::~Syncer() { Stop(); }

void Syncer::Applied(const Change& change) {
  common::Logger("topicsync")
      ->info("msg=\"target changed\" flow={} {}", options_.flow, ToLogText(change));
  if (probe_) probe_->RecordChange(change.kind);
}

absl::StatusOr<std::map<std::string, std::string>> Syncer::CreationConfigsFor(
    const std::string& topic) {
  auto described = admin_->DescribeTopicConfigs(Side::kSource, {topic});
  if (!described.ok()) return described.status();
  if (described->size() != 1) return absl::InternalError("DescribeConfigs: no result for " + topic);
  const kafka::ResourceConfigs& rc = described->front();
  if (!rc.status.ok()) return rc.status;
  return CreationConfigs(rc.entries, ConfigRules{&filter_, options_.defaults_from});
}

absl::StatusOr<int> Syncer::ReplicationFactor(const std::string& remote, bool warn) {
  const int rf = options_.replication_factor;
  if (rf <= 0) return rf;  // the broker's default
  auto brokers = admin_->BrokerCount(Side::kTarget);
  if (!brokers.ok()) return brokers.status();
  if (*brokers <= 0 || rf <= *brokers) return rf;
  if (warn) {
    common::Logger("topicsync")
        ->warn(
            "msg=\"replication_factor exceeds the target's brokers; capped\" flow={} topic={} "
            "replication_factor={} brokers={}",
            options_.flow, remote, rf, *brokers);
  }
  return *brokers;
}

absl::Status Syncer::CreateRemoteTopic(const TopicInfo& source, const std::string& remote) {
  auto log = common::Logger("topicsync");
  absl::Status result = [&]() -> absl::Status {
    auto configs = CreationConfigsFor(source.name);
    if (configs.status().code() == absl::StatusCode::kPermissionDenied) {
      // Replication must not wait for a permission only config sync needs.
      log->warn(
          "msg=\"source configs not readable; creating the remote topic without them\" flow={} "
          "topic={} error=\"{}\"",
          options_.flow, source.name, StatusText(configs.status()));
      configs = std::map<std::string, std::string>{};
    }
    if (!configs.ok()) return configs.status();
    auto rf = ReplicationFactor(remote, /*warn=*/true);
    if (!rf.ok()) return rf.status();
    kafka::NewTopic t{remote, source.partitions, *rf, *configs};
    absl::Status s = admin_->CreateTopic(t);
    if (s.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
    if (!s.ok()) return s;
    Applied(Change{ChangeKind::kTopicCreated, remote, "", std::nullopt,
                   DescribeCreation(source.partitions, *rf, *configs)});
    return absl::OkStatus();
  }();
  if (probe_) {
    if (result.ok()) {
      probe_->RecordSuccess(Task::kTopics, UnixNow());
    } else {
      probe_->RecordError(Task::kTopics);
    }
  }
  return result;
}

absl::Status Syncer::GrowRemoteTopic(const TopicInfo& source, const std::string& remote,
                                     int32_t current) {
  absl::Status s = admin_->CreatePartitions(remote, source.partitions);
  if (!s.ok()) {
    if (probe_) probe_->RecordError(Task::kTopics);
    return s;
  }
  Applied(Change{ChangeKind::kPartitionsAdded, remote, "", std::to_string(current),
                 std::to_string(source.partitions)});
  if (probe_) probe_->RecordSuccess(Task::kTopics, UnixNow());
  return absl::OkStatus();
}

std::optional<std::vector<Syncer::Pair>> Syncer::Pairs(SyncResult& result) {
  auto source = admin_->ListTopics(Side::kSource);
  auto target = source.ok() ? admin_->ListTopics(Side::kTarget) : source;
  if (!target.ok()) {
    result.errors.push_back("listing topics: " + StatusText(target.status()));
    return std::nullopt;
  }
  std::map<std::string, int32_t> remote;
  for (const auto& t : *target) remote[t.name] = t.partitions;
  const Selection selection = CurrentSelection();
  std::vector<Pair> out;
  for (const auto& t : *source) {
    if (!selection.replicate_topic(t.name)) continue;
    Pair p{t, selection.remote_topic(t.name)};
    auto it = remote.find(p.remote);
    if (it != remote.end()) p.remote_partitions = it->second;
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(),
            [](const Pair& a, const Pair& b) { return a.source.name < b.source.name; });
  return out;
}

SyncResult Syncer::SyncTopics(bool apply) {
  SyncResult r;
  auto pairs = Pairs(r);
  if (!pairs) return r;
  for (const Pair& p : *pairs) {
    if (p.remote_partitions < 0) {
      if (apply) {
        if (auto s = CreateRemoteTopic(p.source, p.remote); !s.ok()) {
          r.errors.push_back(fmt::format("creating {}: {}", p.remote, StatusText(s)));
        }
        continue;
      }
      auto configs = CreationConfigsFor(p.source.name);
      auto rf = ReplicationFactor(p.remote, /*warn=*/false);
      if (!configs.ok() || !rf.ok()) {
        r.errors.push_back(fmt::format("planning {}: {}", p.remote,
                                       StatusText(configs.ok() ? rf.status() : configs.status())));
        continue;
      }
      r.changes.push_back(Change{ChangeKind::kTopicCreated, p.remote, "", std::nullopt,
                                 DescribeCreation(p.source.partitions, *rf, *configs)});
    } else if (p.remote_partitions < p.source.partitions) {
      if (apply) {
        if (auto s = GrowRemoteTopic(p.source, p.remote, p.remote_partitions); !s.ok()) {
          r.errors.push_back(fmt::format("adding partitions to {}: {}", p.remote, StatusText(s)));
        }
        continue;
      }
      r.changes.push_back(Change{ChangeKind::kPartitionsAdded, p.remote, "",
                                 std::to_string(p.remote_partitions),
                                 std::to_string(p.source.partitions)});
    }
  }
  return r;
}

SyncResult Syncer::SyncConfigs(bool apply) {
  std::lock_guard<std::mutex> run(run_mu_);
  SyncResult r;
  auto pairs = Pairs(r);
  if (!pairs) return r;
  std::vector<std::string> sources, remotes;
  for (const Pair& p : *pairs) {
    if (p.remote_partitions < 0) continue;  // not created yet: creation copies the configs
    sources.push_back(p.source.name);
    remotes.push_back(p.remote);
  }
  if (sources.empty()) return r;
  auto src = admin_->DescribeTopicConfigs(Side::kSource, sources);
  if (!src.ok()) {
    r.errors.push_back("describing source configs: " + StatusText(src.status()));
    return r;
  }
  auto dst = admin_->DescribeTopicConfigs(Side::kTarget, remotes);
  if (!dst.ok()) {
    r.errors.push_back("describing target configs: " + StatusText(dst.status()));
    return r;
  }
  if (src->size() != sources.size() || dst->size() != remotes.size()) {
    r.errors.push_back("DescribeConfigs returned a result of the wrong size");
    return r;
  }
  const ConfigRules rules{&filter_, options_.defaults_from};
  for (size_t i = 0; i < sources.size(); ++i) {
    const kafka::ResourceConfigs& s = (*src)[i];
    const kafka::ResourceConfigs& d = (*dst)[i];
    if (!s.status.ok() || !d.status.ok()) {
      // A topic deleted in between is not an error worth retrying for.
      const absl::Status& bad = s.status.ok() ? d.status : s.status;
      if (bad.code() != absl::StatusCode::kNotFound) {
        r.errors.push_back(fmt::format("describing {}: {}", remotes[i], StatusText(bad)));
      }
      continue;
    }
    ConfigPlan plan = PlanConfigs(s.entries, d.entries, rules);
    if (plan.changes.empty()) continue;
    if (plan.blocked_by) {
      r.errors.push_back(fmt::format(
          "{}: not synced: its override of {} is secret and AlterConfigs would erase it",
          remotes[i], *plan.blocked_by));
      continue;
    }
    std::vector<Change> changes;
    for (const ConfigChange& c : plan.changes) {
      changes.push_back(Change{c.after ? ChangeKind::kConfigSet : ChangeKind::kConfigReset,
                               remotes[i], c.name, c.before, c.after});
    }
    if (apply) {
      if (absl::Status st = admin_->AlterTopicConfigs(remotes[i], plan.desired); !st.ok()) {
        r.errors.push_back(fmt::format("altering {}: {}", remotes[i], StatusText(st)));
        continue;
      }
      for (const Change& c : changes) Applied(c);
    }
    for (auto& c : changes) r.changes.push_back(std::move(c));
  }
  return r;
}

SyncResult Syncer::SyncAcls(bool apply) {
  std::lock_guard<std::mutex> run(run_mu_);
  SyncResult r;
  auto pairs = Pairs(r);
  if (!pairs) return r;
  const Selection selection = CurrentSelection();
  AclScope scope{selection.replicate_topic, selection.remote_topic, selection.sync_group, {}};
  for (const Pair& p : *pairs) scope.replicated_topics.push_back(p.source.name);
  auto source = admin_->ListAcls(Side::kSource);
  if (!source.ok()) {
    r.errors.push_back("describing source ACLs: " + StatusText(source.status()));
    return r;
  }
  auto target = admin_->ListAcls(Side::kTarget);
  if (!target.ok()) {
    r.errors.push_back("describing target ACLs: " + StatusText(target.status()));
    return r;
  }
  auto owned = ledger_->Load();
  if (!owned.ok()) {
    r.errors.push_back("reading the ACL ledger: " + StatusText(owned.status()));
    return r;
  }
  AclPlan plan = PlanAcls(*source, *target, *owned, options_.acl, scope);
  auto added = [](const kafka::AclBinding& b) {
    return Change{ChangeKind::kAclAdded, kafka::ToString(b), "", std::nullopt, "present"};
  };
  auto removed = [](const kafka::AclBinding& b) {
    return Change{ChangeKind::kAclRemoved, kafka::ToString(b), "", "present", std::nullopt};
  };
  if (!apply) {
    for (const auto& b : plan.add) r.changes.push_back(added(b));
    for (const auto& b : plan.remove) r.changes.push_back(removed(b));
    return r;
  }
  // Record intent before acting: a crash between the two leaves a ledger entry for a binding that
  // may not exist, which the next run forgets, rather than a binding kmirror forgot it created.
  std::vector<kafka::AclBinding> ledger = plan.owned;
  ledger.insert(ledger.end(), plan.remove.begin(), plan.remove.end());
  if (Keys(ledger) != Keys(*owned)) {
    if (absl::Status s = ledger_->Store(ledger); !s.ok()) {
      r.errors.push_back("writing the ACL ledger: " + StatusText(s));
      return r;
    }
  }
  std::set<std::string> failed;  // keys whose add or removal did not happen
  if (!plan.add.empty()) {
    auto created = admin_->CreateAcls(plan.add);
    for (size_t i = 0; i < plan.add.size(); ++i) {
      absl::Status s = !created.ok()         ? created.status()
                       : i < created->size() ? (*created)[i]
                                             : absl::InternalError("no result");
      if (s.ok()) {
        Applied(added(plan.add[i]));
        r.changes.push_back(added(plan.add[i]));
      } else {
        failed.insert(AclKey(plan.add[i]));
        r.errors.push_back(
            fmt::format("adding {}: {}", kafka::ToString(plan.add[i]), StatusText(s)));
      }
    }
  }
  std::vector<kafka::AclBinding> final_owned;
  for (const auto& b : plan.owned) {
    if (!failed.count(AclKey(b))) final_owned.push_back(b);
  }
  for (const auto& b : plan.remove) {
    if (absl::Status s = admin_->DeleteAcl(b); !s.ok()) {
      final_owned.push_back(b);  // still there, still ours
      r.errors.push_back(fmt::format("removing {}: {}", kafka::ToString(b), StatusText(s)));
      continue;
    }
    Applied(removed(b));
    r.changes.push_back(removed(b));
  }
  if (Keys(final_owned) != Keys(ledger)) {
    if (absl::Status s = ledger_->Store(final_owned); !s.ok()) {
      r.errors.push_back("writing the ACL ledger: " + StatusText(s));
    }
  }
  return r;
}

SyncResult Syncer::Plan() {
  SyncResult r;
  if (!Pairs(r)) return r;  // a cluster is unreachable: every task would only wait and fail
  r = SyncTopics(false);
  if (options_.config_sync) r.Append(SyncConfigs(false));
  if (options_.acl_sync) r.Append(SyncAcls(false));
  return r;
}

void Syncer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  if (!options_.config_sync && !options_.acl_sync) return;
  thread_ = std::thread([this] { Loop(); });
}

void Syncer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Syncer::Loop() {
  using Clock = std::chrono::steady_clock;
  struct Schedule {
    Task task;
    bool enabled;
    std::chrono::milliseconds interval;
    std::function<SyncResult()> run;
    Clock::time_point next;
    std::chrono::milliseconds backoff{0};
  };
  std::vector<Schedule> tasks = {
      {Task::kConfigs, options_.config_sync, options_.config_sync_interval,
       [this] { return SyncConfigs(true); }, Clock::now()},
      {Task::kAcls, options_.acl_sync, options_.acl_sync_interval,
       [this] { return SyncAcls(true); }, Clock::now()},
  };
  auto log = common::Logger("topicsync");
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    Clock::time_point wake = Clock::time_point::max();
    for (const Schedule& t : tasks) {
      if (t.enabled) wake = std::min(wake, t.next);
    }
    if (cv_.wait_until(lock, wake, [this] { return stop_; })) break;
    for (Schedule& t : tasks) {
      if (!t.enabled || Clock::now() < t.next) continue;
      lock.unlock();
      SyncResult r = t.run();
      lock.lock();
      if (r.ok()) {
        t.backoff = std::chrono::milliseconds(0);
        t.next = Clock::now() + t.interval;
        if (probe_) probe_->RecordSuccess(t.task, UnixNow());
        continue;
      }
      t.backoff =
          std::min(t.interval, t.backoff.count() == 0 ? options_.min_backoff : t.backoff * 2);
      t.next = Clock::now() + t.backoff;
      if (probe_) probe_->RecordError(t.task);
      log->warn(
          "msg=\"topic sync incomplete; retrying\" flow={} task={} retry_in_ms={} errors={} "
          "first_error=\"{}\"",
          options_.flow, ToString(t.task), t.backoff.count(), r.errors.size(), r.errors.front());
    }
  }
}

}  // namespace kmirror::topicsync
