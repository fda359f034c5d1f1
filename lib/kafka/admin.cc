#include "lib/kafka/admin.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "lib/common/status.h"
#include "lib/kafka/client_util.h"
#include "lib/kafka/error.h"

namespace kmirror::kafka {
namespace {

using ::kmirror::common::ToAbsl;
using Duration = AdminClient::Duration;

// librdkafka enforces `timeout` itself and then posts a TIMED_OUT result; wait a little longer
// so that its (more precise) error is the one reported.
constexpr Duration kQueueMargin = std::chrono::seconds(2);

static_assert(static_cast<int>(ResourceType::kCluster) == RD_KAFKA_RESOURCE_BROKER);
static_assert(static_cast<int>(ResourceType::kGroup) == RD_KAFKA_RESOURCE_GROUP);
static_assert(static_cast<int>(PatternType::kPrefixed) == RD_KAFKA_RESOURCE_PATTERN_PREFIXED);
static_assert(static_cast<int>(AclOperation::kIdempotentWrite) ==
              RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE);
static_assert(static_cast<int>(AclPermission::kAllow) == RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW);
static_assert(static_cast<int>(ConfigSource::kDefault) == RD_KAFKA_CONFIG_SOURCE_DEFAULT_CONFIG);
static_assert(static_cast<int>(GroupState::kEmpty) == RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY);

// An error status with librdkafka's detail text, when it has one.
absl::Status DetailedError(rd_kafka_resp_err_t err, const char* detail,
                           const std::string& context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  if (detail == nullptr || *detail == '\0') return ErrorStatus(err, context);
  return ErrorStatus(err, absl::StrCat(context, ": ", detail));
}

std::string OrEmpty(const char* s) { return s != nullptr ? std::string(s) : std::string(); }

std::optional<std::string> OrNull(const char* s) {
  if (s == nullptr) return std::nullopt;
  return std::string(s);
}

const char* CStrOrNull(const std::optional<std::string>& s) {
  return s.has_value() ? s->c_str() : nullptr;
}

absl::StatusOr<AdminOptionsPtr> MakeOptions(rd_kafka_t* rk, rd_kafka_admin_op_t op,
                                            Duration timeout, bool operation_timeout = false,
                                            bool validate_only = false) {
  AdminOptionsPtr options(rd_kafka_AdminOptions_new(rk, op));
  if (options == nullptr) return absl::InternalError("rd_kafka_AdminOptions_new failed");
  char errstr[512] = {0};
  const int ms = internal::TimeoutMs(timeout);
  if (rd_kafka_resp_err_t err =
          rd_kafka_AdminOptions_set_request_timeout(options.get(), ms, errstr, sizeof(errstr))) {
    return DetailedError(err, errstr, "admin request timeout");
  }
  if (operation_timeout) {
    if (rd_kafka_resp_err_t err = rd_kafka_AdminOptions_set_operation_timeout(
            options.get(), ms, errstr, sizeof(errstr))) {
      return DetailedError(err, errstr, "admin operation timeout");
    }
  }
  if (validate_only) {
    if (rd_kafka_resp_err_t err =
            rd_kafka_AdminOptions_set_validate_only(options.get(), 1, errstr, sizeof(errstr))) {
      return DetailedError(err, errstr, "admin validate_only");
    }
  }
  return options;
}

// Waits for the single result event of a call on its private queue.
absl::StatusOr<EventPtr> WaitResult(rd_kafka_queue_t* queue, Duration timeout,
                                    const std::string& what) {
  EventPtr event(rd_kafka_queue_poll(queue, internal::TimeoutMs(timeout + kQueueMargin)));
  if (event == nullptr) {
    return ErrorStatus(RD_KAFKA_RESP_ERR__TIMED_OUT,
                       absl::StrCat(what, ": no result within ", timeout.count(), " ms"));
  }
  rd_kafka_resp_err_t err = rd_kafka_event_error(event.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return DetailedError(err, rd_kafka_event_error_string(event.get()), what);
  }
  return event;
}

std::vector<TopicResult> TopicResults(const rd_kafka_topic_result_t** results, size_t count,
                                      const std::string& what) {
  std::vector<TopicResult> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    TopicResult r;
    r.name = rd_kafka_topic_result_name(results[i]);
    r.status = DetailedError(rd_kafka_topic_result_error(results[i]),
                             rd_kafka_topic_result_error_string(results[i]),
                             absl::StrCat(what, " ", r.name));
    out.push_back(std::move(r));
  }
  return out;
}

AclBinding FromRdAcl(const rd_kafka_AclBinding_t* acl) {
  AclBinding b;
  b.resource_type = static_cast<ResourceType>(rd_kafka_AclBinding_restype(acl));
  b.name = OrEmpty(rd_kafka_AclBinding_name(acl));
  b.pattern_type = static_cast<PatternType>(rd_kafka_AclBinding_resource_pattern_type(acl));
  b.principal = OrEmpty(rd_kafka_AclBinding_principal(acl));
  b.host = OrEmpty(rd_kafka_AclBinding_host(acl));
  b.operation = static_cast<AclOperation>(rd_kafka_AclBinding_operation(acl));
  b.permission = static_cast<AclPermission>(rd_kafka_AclBinding_permission_type(acl));
  return b;
}

std::vector<AclBinding> FromRdAcls(const rd_kafka_AclBinding_t** acls, size_t count) {
  std::vector<AclBinding> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) out.push_back(FromRdAcl(acls[i]));
  return out;
}

absl::StatusOr<AclBindingFilterPtr> ToRdFilter(const AclBindingFilter& f) {
  char errstr[512] = {0};
  AclBindingFilterPtr filter(rd_kafka_AclBindingFilter_new(
      static_cast<rd_kafka_ResourceType_t>(f.resource_type), CStrOrNull(f.name),
      static_cast<rd_kafka_ResourcePatternType_t>(f.pattern_type), CStrOrNull(f.principal),
      CStrOrNull(f.host), static_cast<rd_kafka_AclOperation_t>(f.operation),
      static_cast<rd_kafka_AclPermissionType_t>(f.permission), errstr, sizeof(errstr)));
  if (filter == nullptr) return absl::InvalidArgumentError(absl::StrCat("ACL filter: ", errstr));
  return filter;
}

// The partitions of the single group result of a group-offsets call.
absl::StatusOr<std::vector<TopicPartitionOffset>> GroupOffsetsResult(
    const rd_kafka_group_result_t** groups, size_t count, const std::string& group,
    const std::string& what) {
  if (count != 1) {
    return absl::InternalError(
        absl::StrCat(what, " ", group, ": expected 1 group result, got ", count));
  }
  KM_RETURN_IF_ERROR(
      ErrorStatus(rd_kafka_group_result_error(groups[0]), absl::StrCat(what, " ", group)));
  return internal::FromPartitionList(rd_kafka_group_result_partitions(groups[0]));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Create(const Properties& properties) {
  absl::StatusOr<HandlePtr> rk =
      internal::NewClient(RD_KAFKA_PRODUCER, properties, [](rd_kafka_conf_t*) {});
  if (!rk.ok()) return rk.status();
  std::unique_ptr<AdminClient> admin(new AdminClient(*std::move(rk)));
  admin->properties_ = properties;
  return admin;
}

absl::StatusOr<rd_kafka_t*> AdminClient::GroupOffsetsHandle() {
  // librdkafka 2.0.2 answers a NOT_COORDINATOR error in an OffsetFetch/OffsetCommit response of
  // the group-offsets admin calls by asking the client's own consumer group to look up its
  // coordinator, which a producer handle does not have: the client's main thread crashes on a
  // NULL pointer (reproduced against the sandbox with the group's coordinator going down). These
  // calls go through a consumer handle with a private group id that never joins, so that request
  // lands somewhere harmless.
  std::lock_guard<std::mutex> lock(group_mu_);
  if (group_rk_ == nullptr) {
    static std::atomic<int> next{0};
    Properties p = properties_;
    p.Set("group.id", absl::StrCat("kmirror.admin.", getpid(), ".", next++));
    p.Set("enable.auto.commit", "false");
    KM_ASSIGN_OR_RETURN(group_rk_,
                        internal::NewClient(RD_KAFKA_CONSUMER, p, [](rd_kafka_conf_t*) {}));
  }
  // Nothing else polls this handle: serve its error and log events here.
  rd_kafka_poll(group_rk_.get(), 0);
  return group_rk_.get();
}

AdminClient::~AdminClient() = default;

std::string AdminClient::name() const { return rd_kafka_name(rk_.get()); }

// ---- Topics ---------------------------------------------------------------------------------

absl::StatusOr<std::vector<TopicResult>> AdminClient::CreateTopics(
    const std::vector<NewTopic>& topics, Duration timeout, bool validate_only) {
  if (topics.empty()) return std::vector<TopicResult>{};
  std::vector<NewTopicPtr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const NewTopic& t : topics) {
    char errstr[512] = {0};
    NewTopicPtr nt(rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replication_factor, errstr,
                                         sizeof(errstr)));
    if (nt == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("create topic ", t.name, ": ", errstr));
    }
    for (const auto& [key, value] : t.configs) {
      if (rd_kafka_resp_err_t err =
              rd_kafka_NewTopic_set_config(nt.get(), key.c_str(), value.c_str())) {
        return ErrorStatus(err, absl::StrCat("create topic ", t.name, ": config ", key));
      }
    }
    raw.push_back(nt.get());
    owned.push_back(std::move(nt));
  }
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout,
                                  /*operation_timeout=*/true, validate_only));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_CreateTopics(rk_.get(), raw.data(), raw.size(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "create topics"));
  const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event.get());
  if (result == nullptr) return absl::InternalError("create topics: unexpected result event");
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
  return TopicResults(results, count, "create topic");
}

absl::StatusOr<std::vector<TopicResult>> AdminClient::DeleteTopics(
    const std::vector<std::string>& topics, Duration timeout) {
  if (topics.empty()) return std::vector<TopicResult>{};
  std::vector<DeleteTopicPtr> owned;
  std::vector<rd_kafka_DeleteTopic_t*> raw;
  for (const std::string& t : topics) {
    owned.emplace_back(rd_kafka_DeleteTopic_new(t.c_str()));
    raw.push_back(owned.back().get());
  }
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout,
                                  /*operation_timeout=*/true));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DeleteTopics(rk_.get(), raw.data(), raw.size(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "delete topics"));
  const rd_kafka_DeleteTopics_result_t* result = rd_kafka_event_DeleteTopics_result(event.get());
  if (result == nullptr) return absl::InternalError("delete topics: unexpected result event");
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_DeleteTopics_result_topics(result, &count);
  return TopicResults(results, count, "delete topic");
}

absl::StatusOr<std::vector<TopicResult>> AdminClient::CreatePartitions(
    const std::vector<NewPartitions>& partitions, Duration timeout, bool validate_only) {
  if (partitions.empty()) return std::vector<TopicResult>{};
  std::vector<NewPartitionsPtr> owned;
  std::vector<rd_kafka_NewPartitions_t*> raw;
  for (const NewPartitions& p : partitions) {
    char errstr[512] = {0};
    NewPartitionsPtr np(rd_kafka_NewPartitions_new(
        p.topic.c_str(), static_cast<size_t>(std::max(p.new_total, 0)), errstr, sizeof(errstr)));
    if (np == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("create partitions ", p.topic, ": ", errstr));
    }
    raw.push_back(np.get());
    owned.push_back(std::move(np));
  }
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout,
                                  /*operation_timeout=*/true, validate_only));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_CreatePartitions(rk_.get(), raw.data(), raw.size(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "create partitions"));
  const rd_kafka_CreatePartitions_result_t* result =
      rd_kafka_event_CreatePartitions_result(event.get());
  if (result == nullptr) return absl::InternalError("create partitions: unexpected result event");
  size_t count = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreatePartitions_result_topics(result, &count);
  return TopicResults(results, count, "create partitions");
}

// ---- Configs --------------------------------------------------------------------------------

absl::StatusOr<std::vector<ResourceConfigs>> AdminClient::DescribeConfigs(
    const std::vector<ConfigResource>& resources, Duration timeout) {
  if (resources.empty()) return std::vector<ResourceConfigs>{};
  std::vector<ConfigResourcePtr> owned;
  std::vector<rd_kafka_ConfigResource_t*> raw;
  for (const ConfigResource& r : resources) {
    ConfigResourcePtr cr(
        rd_kafka_ConfigResource_new(static_cast<rd_kafka_ResourceType_t>(r.type), r.name.c_str()));
    if (cr == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("describe configs: invalid resource ",
                                                     ToAbsl(ToString(r.type)), " '", r.name, "'"));
    }
    raw.push_back(cr.get());
    owned.push_back(std::move(cr));
  }
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DescribeConfigs(rk_.get(), raw.data(), raw.size(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "describe configs"));
  const rd_kafka_DescribeConfigs_result_t* result =
      rd_kafka_event_DescribeConfigs_result(event.get());
  if (result == nullptr) return absl::InternalError("describe configs: unexpected result event");
  size_t count = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(result, &count);
  std::vector<ResourceConfigs> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    ResourceConfigs rc;
    rc.resource.type = static_cast<ConfigResourceType>(rd_kafka_ConfigResource_type(rs[i]));
    rc.resource.name = OrEmpty(rd_kafka_ConfigResource_name(rs[i]));
    rc.status = DetailedError(rd_kafka_ConfigResource_error(rs[i]),
                              rd_kafka_ConfigResource_error_string(rs[i]),
                              absl::StrCat("describe configs ", ToAbsl(ToString(rc.resource.type)),
                                           " ", rc.resource.name));
    size_t entry_count = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(rs[i], &entry_count);
    rc.entries.reserve(entry_count);
    for (size_t j = 0; j < entry_count; ++j) {
      const rd_kafka_ConfigEntry_t* e = entries[j];
      ConfigEntry entry;
      entry.name = OrEmpty(rd_kafka_ConfigEntry_name(e));
      entry.value = OrNull(rd_kafka_ConfigEntry_value(e));
      entry.source = static_cast<ConfigSource>(rd_kafka_ConfigEntry_source(e));
      entry.read_only = rd_kafka_ConfigEntry_is_read_only(e) != 0;
      entry.is_default = rd_kafka_ConfigEntry_is_default(e) != 0;
      entry.sensitive = rd_kafka_ConfigEntry_is_sensitive(e) != 0;
      size_t synonym_count = 0;
      const rd_kafka_ConfigEntry_t** synonyms = rd_kafka_ConfigEntry_synonyms(e, &synonym_count);
      for (size_t k = 0; k < synonym_count; ++k) {
        entry.synonyms.push_back(
            ConfigSynonym{OrEmpty(rd_kafka_ConfigEntry_name(synonyms[k])),
                          OrNull(rd_kafka_ConfigEntry_value(synonyms[k])),
                          static_cast<ConfigSource>(rd_kafka_ConfigEntry_source(synonyms[k]))});
      }
      rc.entries.push_back(std::move(entry));
    }
    out.push_back(std::move(rc));
  }
  return out;
}

absl::StatusOr<std::vector<ResourceResult>> AdminClient::AlterConfigs(
    const std::vector<AlterConfigsResource>& resources, Duration timeout, bool validate_only) {
  if (resources.empty()) return std::vector<ResourceResult>{};
  std::vector<ConfigResourcePtr> owned;
  std::vector<rd_kafka_ConfigResource_t*> raw;
  for (const AlterConfigsResource& r : resources) {
    ConfigResourcePtr cr(rd_kafka_ConfigResource_new(
        static_cast<rd_kafka_ResourceType_t>(r.resource.type), r.resource.name.c_str()));
    if (cr == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("alter configs: invalid resource ",
                                                     ToAbsl(ToString(r.resource.type)), " '",
                                                     r.resource.name, "'"));
    }
    for (const auto& [key, value] : r.configs) {
      if (rd_kafka_resp_err_t err =
              rd_kafka_ConfigResource_set_config(cr.get(), key.c_str(), value.c_str())) {
        return ErrorStatus(err, absl::StrCat("alter configs ", r.resource.name, ": config ", key));
      }
    }
    raw.push_back(cr.get());
    owned.push_back(std::move(cr));
  }
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_ALTERCONFIGS, timeout,
                                  /*operation_timeout=*/false, validate_only));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_AlterConfigs(rk_.get(), raw.data(), raw.size(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "alter configs"));
  const rd_kafka_AlterConfigs_result_t* result = rd_kafka_event_AlterConfigs_result(event.get());
  if (result == nullptr) return absl::InternalError("alter configs: unexpected result event");
  size_t count = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_AlterConfigs_result_resources(result, &count);
  std::vector<ResourceResult> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    ResourceResult rr;
    rr.resource.type = static_cast<ConfigResourceType>(rd_kafka_ConfigResource_type(rs[i]));
    rr.resource.name = OrEmpty(rd_kafka_ConfigResource_name(rs[i]));
    rr.status = DetailedError(
        rd_kafka_ConfigResource_error(rs[i]), rd_kafka_ConfigResource_error_string(rs[i]),
        absl::StrCat("alter configs ", ToAbsl(ToString(rr.resource.type)), " ", rr.resource.name));
    out.push_back(std::move(rr));
  }
  return out;
}

// ---- ACLs -----------------------------------------------------------------------------------

absl::StatusOr<std::vector<absl::Status>> AdminClient::CreateAcls(
    const std::vector<AclBinding>& bindings, Duration timeout) {
  if (bindings.empty()) return std::vector<absl::Status>{};
  std::vector<AclBindingPtr> owned;
  std::vector<rd_kafka_AclBinding_t*> raw;
  for (const AclBinding& b : bindings) {
    char errstr[512] = {0};
    AclBindingPtr acl(rd_kafka_AclBinding_new(
        static_cast<rd_kafka_ResourceType_t>(b.resource_type), b.name.c_str(),
        static_cast<rd_kafka_ResourcePatternType_t>(b.pattern_type), b.principal.c_str(),
        b.host.c_str(), static_cast<rd_kafka_AclOperation_t>(b.operation),
        static_cast<rd_kafka_AclPermissionType_t>(b.permission), errstr, sizeof(errstr)));
    if (acl == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("create ACL ", ToString(b), ": ", errstr));
    }
    raw.push_back(acl.get());
    owned.push_back(std::move(acl));
  }
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_CREATEACLS, timeout));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_CreateAcls(rk_.get(), raw.data(), raw.size(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "create ACLs"));
  const rd_kafka_CreateAcls_result_t* result = rd_kafka_event_CreateAcls_result(event.get());
  if (result == nullptr) return absl::InternalError("create ACLs: unexpected result event");
  size_t count = 0;
  const rd_kafka_acl_result_t** results = rd_kafka_CreateAcls_result_acls(result, &count);
  if (count != bindings.size()) {
    return absl::InternalError(
        absl::StrCat("create ACLs: ", count, " results for ", bindings.size(), " bindings"));
  }
  std::vector<absl::Status> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    out.push_back(ErrorStatus(rd_kafka_acl_result_error(results[i]),
                              absl::StrCat("create ACL ", ToString(bindings[i]))));
  }
  return out;
}

absl::StatusOr<std::vector<AclBinding>> AdminClient::DescribeAcls(const AclBindingFilter& filter,
                                                                  Duration timeout) {
  KM_ASSIGN_OR_RETURN(AclBindingFilterPtr rd_filter, ToRdFilter(filter));
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_DESCRIBEACLS, timeout));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DescribeAcls(rk_.get(), rd_filter.get(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "describe ACLs"));
  const rd_kafka_DescribeAcls_result_t* result = rd_kafka_event_DescribeAcls_result(event.get());
  if (result == nullptr) return absl::InternalError("describe ACLs: unexpected result event");
  size_t count = 0;
  const rd_kafka_AclBinding_t** acls = rd_kafka_DescribeAcls_result_acls(result, &count);
  return FromRdAcls(acls, count);
}

absl::StatusOr<std::vector<DeleteAclsResult>> AdminClient::DeleteAcls(
    const std::vector<AclBindingFilter>& filters, Duration timeout) {
  if (filters.empty()) return std::vector<DeleteAclsResult>{};
  std::vector<AclBindingFilterPtr> owned;
  std::vector<rd_kafka_AclBindingFilter_t*> raw;
  for (const AclBindingFilter& f : filters) {
    KM_ASSIGN_OR_RETURN(AclBindingFilterPtr rd_filter, ToRdFilter(f));
    raw.push_back(rd_filter.get());
    owned.push_back(std::move(rd_filter));
  }
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_DELETEACLS, timeout));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DeleteAcls(rk_.get(), raw.data(), raw.size(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "delete ACLs"));
  const rd_kafka_DeleteAcls_result_t* result = rd_kafka_event_DeleteAcls_result(event.get());
  if (result == nullptr) return absl::InternalError("delete ACLs: unexpected result event");
  size_t count = 0;
  const rd_kafka_DeleteAcls_result_response_t** responses =
      rd_kafka_DeleteAcls_result_responses(result, &count);
  std::vector<DeleteAclsResult> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    DeleteAclsResult r;
    r.status = ErrorStatus(rd_kafka_DeleteAcls_result_response_error(responses[i]),
                           absl::StrCat("delete ACLs filter #", i));
    size_t matching = 0;
    const rd_kafka_AclBinding_t** acls =
        rd_kafka_DeleteAcls_result_response_matching_acls(responses[i], &matching);
    r.deleted = FromRdAcls(acls, matching);
    out.push_back(std::move(r));
  }
  return out;
}

// ---- Consumer groups ------------------------------------------------------------------------

absl::StatusOr<ListConsumerGroupsResult> AdminClient::ListConsumerGroups(
    Duration timeout, const std::vector<GroupState>& states) {
  // Not rd_kafka_ListConsumerGroups(): in librdkafka 2.0.2 its fan-out to every broker, followed
  // by a ListConsumerGroupOffsets on the same client while a broker goes down and comes back,
  // crashes the client's main thread (reproduced against the sandbox). The older
  // rd_kafka_list_groups() asks each broker for its groups (and describes them) through a
  // private queue that is safely abandoned at the deadline.
  const struct rd_kafka_group_list* list = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_list_groups(rk_.get(), nullptr, &list, internal::TimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR__PARTIAL) {
    return ErrorStatus(err, "list consumer groups");
  }
  std::unique_ptr<const rd_kafka_group_list, void (*)(const rd_kafka_group_list*)> owned(
      list, rd_kafka_group_list_destroy);
  ListConsumerGroupsResult out;
  if (err == RD_KAFKA_RESP_ERR__PARTIAL) {
    out.errors.push_back(ErrorStatus(err, "list consumer groups: some brokers did not answer"));
  }
  std::set<std::string> seen;
  for (int i = 0; i < list->group_cnt; ++i) {
    const rd_kafka_group_info& info = list->groups[i];
    const std::string id = OrEmpty(info.group);
    if (info.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.errors.push_back(ErrorStatus(info.err, absl::StrCat("describe group ", id)));
      continue;
    }
    if (!seen.insert(id).second) continue;  // a group moving between coordinators
    GroupListing g;
    g.group_id = id;
    const std::string protocol_type = OrEmpty(info.protocol_type);
    g.is_simple = protocol_type.empty();
    g.state = GroupStateFromString(OrEmpty(info.state)).value_or(GroupState::kUnknown);
    if (!states.empty() && std::find(states.begin(), states.end(), g.state) == states.end()) {
      continue;
    }
    out.groups.push_back(std::move(g));
  }
  return out;
}

absl::StatusOr<std::vector<GroupDescription>> AdminClient::DescribeConsumerGroups(
    const std::vector<std::string>& groups, Duration timeout) {
  if (groups.empty()) return std::vector<GroupDescription>{};
  std::vector<const char*> names;
  for (const std::string& g : groups) names.push_back(g.c_str());
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, timeout));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DescribeConsumerGroups(rk_.get(), names.data(), names.size(), options.get(),
                                  queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "describe consumer groups"));
  const rd_kafka_DescribeConsumerGroups_result_t* result =
      rd_kafka_event_DescribeConsumerGroups_result(event.get());
  if (result == nullptr) {
    return absl::InternalError("describe consumer groups: unexpected result event");
  }
  size_t count = 0;
  const rd_kafka_ConsumerGroupDescription_t** descs =
      rd_kafka_DescribeConsumerGroups_result_groups(result, &count);
  std::vector<GroupDescription> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_ConsumerGroupDescription_t* d = descs[i];
    GroupDescription g;
    g.group_id = OrEmpty(rd_kafka_ConsumerGroupDescription_group_id(d));
    g.status = ErrorStatus(rd_kafka_ConsumerGroupDescription_error(d),
                           absl::StrCat("describe consumer group ", g.group_id));
    g.is_simple = rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d) != 0;
    g.partition_assignor = OrEmpty(rd_kafka_ConsumerGroupDescription_partition_assignor(d));
    g.state = static_cast<GroupState>(rd_kafka_ConsumerGroupDescription_state(d));
    if (const rd_kafka_Node_t* node = rd_kafka_ConsumerGroupDescription_coordinator(d)) {
      g.coordinator = BrokerNode{rd_kafka_Node_id(node), OrEmpty(rd_kafka_Node_host(node)),
                                 rd_kafka_Node_port(node)};
    }
    const size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
    g.members.reserve(members);
    for (size_t m = 0; m < members; ++m) {
      const rd_kafka_MemberDescription_t* md = rd_kafka_ConsumerGroupDescription_member(d, m);
      MemberDescription member;
      member.member_id = OrEmpty(rd_kafka_MemberDescription_consumer_id(md));
      member.client_id = OrEmpty(rd_kafka_MemberDescription_client_id(md));
      member.host = OrEmpty(rd_kafka_MemberDescription_host(md));
      member.group_instance_id = OrNull(rd_kafka_MemberDescription_group_instance_id(md));
      if (const rd_kafka_MemberAssignment_t* assignment =
              rd_kafka_MemberDescription_assignment(md)) {
        member.assignment =
            internal::PartitionsFromList(rd_kafka_MemberAssignment_partitions(assignment));
      }
      g.members.push_back(std::move(member));
    }
    out.push_back(std::move(g));
  }
  return out;
}

absl::StatusOr<std::vector<GroupResult>> AdminClient::DeleteConsumerGroups(
    const std::vector<std::string>& groups, Duration timeout) {
  if (groups.empty()) return std::vector<GroupResult>{};
  std::vector<DeleteGroupPtr> owned;
  std::vector<rd_kafka_DeleteGroup_t*> raw;
  for (const std::string& g : groups) {
    owned.emplace_back(rd_kafka_DeleteGroup_new(g.c_str()));
    raw.push_back(owned.back().get());
  }
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk_.get(), RD_KAFKA_ADMIN_OP_DELETEGROUPS, timeout));
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  rd_kafka_DeleteGroups(rk_.get(), raw.data(), raw.size(), options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event, WaitResult(queue.get(), timeout, "delete consumer groups"));
  const rd_kafka_DeleteGroups_result_t* result = rd_kafka_event_DeleteGroups_result(event.get());
  if (result == nullptr) {
    return absl::InternalError("delete consumer groups: unexpected result event");
  }
  size_t count = 0;
  const rd_kafka_group_result_t** results = rd_kafka_DeleteGroups_result_groups(result, &count);
  std::vector<GroupResult> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    GroupResult r;
    r.group_id = OrEmpty(rd_kafka_group_result_name(results[i]));
    r.status = ErrorStatus(rd_kafka_group_result_error(results[i]),
                           absl::StrCat("delete consumer group ", r.group_id));
    out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<std::vector<TopicPartitionOffset>> AdminClient::ListConsumerGroupOffsets(
    const std::string& group, const std::optional<std::vector<TopicPartition>>& partitions,
    Duration timeout, bool require_stable) {
  KM_ASSIGN_OR_RETURN(rd_kafka_t * rk, GroupOffsetsHandle());
  PartitionListPtr list;
  if (partitions.has_value()) list = internal::ToPartitionList(*partitions);
  ListConsumerGroupOffsetsPtr request(
      rd_kafka_ListConsumerGroupOffsets_new(group.c_str(), list.get()));
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, timeout));
  if (require_stable) {
    ErrorPtr error(rd_kafka_AdminOptions_set_require_stable_offsets(options.get(), 1));
    KM_RETURN_IF_ERROR(ErrorStatus(error.get(), "list consumer group offsets: require_stable"));
  }
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_ListConsumerGroupOffsets_t* raw = request.get();
  rd_kafka_ListConsumerGroupOffsets(rk, &raw, 1, options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event,
                      WaitResult(queue.get(), timeout, "list consumer group offsets"));
  const rd_kafka_ListConsumerGroupOffsets_result_t* result =
      rd_kafka_event_ListConsumerGroupOffsets_result(event.get());
  if (result == nullptr) {
    return absl::InternalError("list consumer group offsets: unexpected result event");
  }
  size_t count = 0;
  const rd_kafka_group_result_t** groups =
      rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count);
  return GroupOffsetsResult(groups, count, group, "list consumer group offsets");
}

absl::StatusOr<std::vector<TopicPartitionOffset>> AdminClient::AlterConsumerGroupOffsets(
    const std::string& group, const std::vector<TopicPartitionOffset>& offsets, Duration timeout) {
  KM_ASSIGN_OR_RETURN(rd_kafka_t * rk, GroupOffsetsHandle());
  if (offsets.empty()) return std::vector<TopicPartitionOffset>{};
  PartitionListPtr list = internal::ToPartitionList(offsets);
  AlterConsumerGroupOffsetsPtr request(
      rd_kafka_AlterConsumerGroupOffsets_new(group.c_str(), list.get()));
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, timeout));
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_AlterConsumerGroupOffsets_t* raw = request.get();
  rd_kafka_AlterConsumerGroupOffsets(rk, &raw, 1, options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event,
                      WaitResult(queue.get(), timeout, "alter consumer group offsets"));
  const rd_kafka_AlterConsumerGroupOffsets_result_t* result =
      rd_kafka_event_AlterConsumerGroupOffsets_result(event.get());
  if (result == nullptr) {
    return absl::InternalError("alter consumer group offsets: unexpected result event");
  }
  size_t count = 0;
  const rd_kafka_group_result_t** groups =
      rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &count);
  return GroupOffsetsResult(groups, count, group, "alter consumer group offsets");
}

absl::StatusOr<std::vector<TopicPartitionOffset>> AdminClient::DeleteConsumerGroupOffsets(
    const std::string& group, const std::vector<TopicPartition>& partitions, Duration timeout) {
  KM_ASSIGN_OR_RETURN(rd_kafka_t * rk, GroupOffsetsHandle());
  if (partitions.empty()) return std::vector<TopicPartitionOffset>{};
  PartitionListPtr list = internal::ToPartitionList(partitions);
  DeleteConsumerGroupOffsetsPtr request(
      rd_kafka_DeleteConsumerGroupOffsets_new(group.c_str(), list.get()));
  KM_ASSIGN_OR_RETURN(AdminOptionsPtr options,
                      MakeOptions(rk, RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS, timeout));
  QueuePtr queue(rd_kafka_queue_new(rk));
  rd_kafka_DeleteConsumerGroupOffsets_t* raw = request.get();
  rd_kafka_DeleteConsumerGroupOffsets(rk, &raw, 1, options.get(), queue.get());
  KM_ASSIGN_OR_RETURN(EventPtr event,
                      WaitResult(queue.get(), timeout, "delete consumer group offsets"));
  const rd_kafka_DeleteConsumerGroupOffsets_result_t* result =
      rd_kafka_event_DeleteConsumerGroupOffsets_result(event.get());
  if (result == nullptr) {
    return absl::InternalError("delete consumer group offsets: unexpected result event");
  }
  size_t count = 0;
  const rd_kafka_group_result_t** groups =
      rd_kafka_DeleteConsumerGroupOffsets_result_groups(result, &count);
  return GroupOffsetsResult(groups, count, group, "delete consumer group offsets");
}

// ---- Cluster --------------------------------------------------------------------------------

absl::StatusOr<ClusterMetadata> AdminClient::Metadata(
    const std::optional<std::vector<std::string>>& topics, Duration timeout) {
  // all_topics=1 and filter here: asking for named topics would go through rd_kafka_topic_t
  // handles, and a metadata request naming a missing topic may auto-create it on the broker.
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t err =
      rd_kafka_metadata(rk_.get(), /*all_topics=*/1, nullptr, &raw, internal::TimeoutMs(timeout));
  MetadataPtr md(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, "metadata");

  ClusterMetadata out;
  out.orig_broker_id = md->orig_broker_id;
  for (int i = 0; i < md->broker_cnt; ++i) {
    out.brokers.push_back(
        BrokerMeta{md->brokers[i].id, OrEmpty(md->brokers[i].host), md->brokers[i].port});
  }
  absl::flat_hash_set<std::string_view> wanted;
  if (topics.has_value()) wanted.insert(topics->begin(), topics->end());
  absl::flat_hash_set<std::string_view> seen;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topics.has_value() && !wanted.contains(t.topic)) continue;
    TopicMeta tm;
    tm.name = t.topic;
    tm.status = ErrorStatus(t.err, absl::StrCat("metadata topic ", tm.name));
    for (int p = 0; p < t.partition_cnt; ++p) {
      const rd_kafka_metadata_partition_t& mp = t.partitions[p];
      PartitionMeta pm;
      pm.id = mp.id;
      pm.status = ErrorStatus(mp.err, absl::StrCat("metadata ", tm.name, "[", mp.id, "]"));
      pm.leader = mp.leader;
      pm.replicas.assign(mp.replicas, mp.replicas + mp.replica_cnt);
      pm.isrs.assign(mp.isrs, mp.isrs + mp.isr_cnt);
      tm.partitions.push_back(std::move(pm));
    }
    std::sort(tm.partitions.begin(), tm.partitions.end(),
              [](const PartitionMeta& a, const PartitionMeta& b) { return a.id < b.id; });
    seen.insert(t.topic);
    out.topics.push_back(std::move(tm));
  }
  if (topics.has_value()) {
    for (const std::string& name : *topics) {
      if (seen.contains(name)) continue;
      TopicMeta missing;
      missing.name = name;
      missing.status = ErrorStatus(RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
                                   absl::StrCat("metadata topic ", name));
      out.topics.push_back(std::move(missing));
      seen.insert(name);
    }
  }
  // Both read the metadata cache that the request above has just refreshed.
  if (char* id = rd_kafka_clusterid(rk_.get(), 0)) {
    out.cluster_id = id;
    rd_kafka_mem_free(rk_.get(), id);
  }
  int32_t controller = rd_kafka_controllerid(rk_.get(), 0);
  if (controller >= 0) out.controller_id = controller;
  return out;
}

// ---- Offsets --------------------------------------------------------------------------------

absl::StatusOr<Watermarks> AdminClient::QueryWatermarks(const std::string& topic, int32_t partition,
                                                        Duration timeout) {
  return internal::QueryWatermarks(rk_.get(), topic, partition, timeout);
}

absl::StatusOr<std::vector<TopicPartitionOffset>> AdminClient::ListOffsetsForTimes(
    const std::vector<TopicPartitionOffset>& timestamps, Duration timeout) {
  return internal::OffsetsForTimes(rk_.get(), timestamps, timeout);
}

absl::StatusOr<NewTopic> InternalTopic(AdminClient& admin, const std::string& name, bool compacted,
                                       const InternalTopicSettings& settings) {
  NewTopic t;
  t.name = name;
  t.partitions = 1;
  t.replication_factor = settings.replication_factor;
  if (t.replication_factor < 0) {
    auto md = admin.Metadata(std::vector<std::string>{}, std::chrono::seconds(10));
    if (!md.ok()) return md.status();
    t.replication_factor = std::clamp<int32_t>(static_cast<int32_t>(md->brokers.size()), 1, 3);
  }
  const int min_isr = settings.min_insync_replicas > 0 ? settings.min_insync_replicas
                                                       : std::max(1, t.replication_factor - 1);
  t.configs["min.insync.replicas"] = std::to_string(min_isr);
  if (compacted) t.configs["cleanup.policy"] = "compact";
  return t;
}

}  // namespace kmirror::kafka
