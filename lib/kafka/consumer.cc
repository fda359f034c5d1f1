#include "lib/kafka/consumer.h"

#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/common/status.h"
#include "lib/kafka/client_util.h"
#include "lib/kafka/error.h"

namespace kmirror::kafka {
namespace {

using ::kmirror::common::ToAbsl;

constexpr char kCooperative[] = "COOPERATIVE";

}  // namespace

// ---------------------------------------------------------------------------------------------
// Message

Message::Message(MessagePtr msg) : msg_(std::move(msg)) {}

std::string_view Message::topic() const {
  return msg_->rkt != nullptr ? std::string_view(rd_kafka_topic_name(msg_->rkt))
                              : std::string_view();
}

int32_t Message::partition() const { return msg_->partition; }

int64_t Message::offset() const { return msg_->offset; }

std::optional<std::string_view> Message::key() const {
  if (msg_->key == nullptr) return std::nullopt;
  return std::string_view(static_cast<const char*>(msg_->key), msg_->key_len);
}

std::optional<std::string_view> Message::value() const {
  if (msg_->payload == nullptr || msg_->err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::nullopt;
  return std::string_view(static_cast<const char*>(msg_->payload), msg_->len);
}

std::vector<HeaderView> Message::headers() const {
  std::vector<HeaderView> out;
  rd_kafka_headers_t* hdrs = nullptr;
  // Parses lazily and caches inside the message; the headers stay owned by the message.
  if (rd_kafka_message_headers(msg_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return out;
  out.reserve(rd_kafka_header_cnt(hdrs));
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    HeaderView h;
    h.name = name;
    if (value != nullptr) h.value = std::string_view(static_cast<const char*>(value), size);
    out.push_back(h);
  }
  return out;
}

std::optional<std::optional<std::string_view>> Message::header(std::string_view name) const {
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg_.get(), &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  // rd_kafka_header_get_last() wants a NUL-terminated name; compare by hand to accept any view.
  std::optional<std::optional<std::string_view>> found;
  const char* hname = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &hname, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    if (name != hname) continue;
    found.emplace();
    if (value != nullptr) *found = std::string_view(static_cast<const char*>(value), size);
  }
  return found;
}

int64_t Message::timestamp_ms() const { return rd_kafka_message_timestamp(msg_.get(), nullptr); }

TimestampType Message::timestamp_type() const {
  rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  rd_kafka_message_timestamp(msg_.get(), &type);
  return static_cast<TimestampType>(type);
}

absl::Status Message::status() const {
  if (msg_->err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  const char* detail = rd_kafka_message_errstr(msg_.get());
  return ErrorStatus(msg_->err,
                     absl::StrCat("consume ", ToAbsl(topic()), "[", partition(), "] at offset ",
                                  offset(), ": ", detail != nullptr ? detail : ""));
}

bool Message::ok() const { return msg_->err == RD_KAFKA_RESP_ERR_NO_ERROR; }

bool Message::is_partition_eof() const { return msg_->err == RD_KAFKA_RESP_ERR__PARTITION_EOF; }

size_t Message::size() const {
  if (msg_->err != RD_KAFKA_RESP_ERR_NO_ERROR) return 0;  // payload holds the error text.
  return msg_->key_len + (msg_->payload != nullptr ? msg_->len : 0);
}

std::string_view ToString(RebalanceEvent::Type type) {
  switch (type) {
    case RebalanceEvent::Type::kAssign:
      return "assign";
    case RebalanceEvent::Type::kRevoke:
      return "revoke";
    case RebalanceEvent::Type::kLost:
      return "lost";
    case RebalanceEvent::Type::kError:
      return "error";
  }
  return "unknown";
}

// ---------------------------------------------------------------------------------------------
// Consumer

Consumer::Consumer(RebalanceCallback on_rebalance, ErrorCallback on_error, StatsCallback on_stats)
    : on_rebalance_(std::move(on_rebalance)),
      on_error_(std::move(on_error)),
      on_stats_(std::move(on_stats)) {}

Consumer::~Consumer() {
  if (rk_ == nullptr) return;
  Close().IgnoreError();
  // librdkafka < 2.3 (bug #4312) asserts in rd_kafka_destroy() when a cooperative-sticky member got
  // its JoinGroup response but never an assignment: the assignor state it frees is still NULL.
  // Such a handle is kept (reachable, so leak checkers stay quiet) instead of aborting the process
  // on shutdown; it happens at most once per consumer and only between join and first assignment.
  if (!assigned_once_ && RebalanceProtocol() == kCooperative) {
    static std::mutex mu;
    static auto* kept = new std::vector<rd_kafka_t*>();
    std::lock_guard<std::mutex> lock(mu);
    internal::LogClientError(
        rk_.get(), absl::InternalError("consumer closed between group join and first assignment; "
                                       "its handle is not destroyed (librdkafka 2.0 bug #4312)"));
    kept->push_back(rk_.release());
  }
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(const Properties& properties,
                                                           RebalanceCallback on_rebalance,
                                                           ErrorCallback on_error,
                                                           StatsCallback on_stats) {
  std::optional<std::string> group = properties.Get("group.id");
  if (!group.has_value() || group->empty()) {
    return absl::InvalidArgumentError(
        "consumer property 'group.id' is required (librdkafka cannot poll without a group, even "
        "with manual assignment)");
  }
  std::unique_ptr<Consumer> consumer(
      new Consumer(std::move(on_rebalance), std::move(on_error), std::move(on_stats)));
  absl::StatusOr<HandlePtr> rk =
      internal::NewClient(RD_KAFKA_CONSUMER, properties, [&](rd_kafka_conf_t* conf) {
        rd_kafka_conf_set_opaque(conf, consumer.get());
        rd_kafka_conf_set_rebalance_cb(conf, &Consumer::OnRebalance);
        rd_kafka_conf_set_error_cb(conf, &Consumer::OnError);
        if (consumer->on_stats_) rd_kafka_conf_set_stats_cb(conf, &Consumer::OnStats);
      });
  if (!rk.ok()) return rk.status();
  consumer->rk_ = *std::move(rk);
  // Serve the main queue (error callbacks, logs) from rd_kafka_consumer_poll().
  KM_RETURN_IF_ERROR(
      ErrorStatus(rd_kafka_poll_set_consumer(consumer->rk_.get()), "redirect consumer queue"));
  return consumer;
}

void Consumer::OnRebalance(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) noexcept {
  static_cast<Consumer*>(opaque)->HandleRebalance(err, partitions);
}

void Consumer::HandleRebalance(rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* partitions) {
  RebalanceEvent event;
  event.cooperative = RebalanceProtocol() == kCooperative;
  event.partitions = internal::FromPartitionList(partitions);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    event.type = RebalanceEvent::Type::kAssign;
    assigned_once_ = true;
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    event.type = rd_kafka_assignment_lost(rk_.get()) ? RebalanceEvent::Type::kLost
                                                     : RebalanceEvent::Type::kRevoke;
  } else {
    event.type = RebalanceEvent::Type::kError;
    event.status = ErrorStatus(err, "rebalance");
  }
  if (on_rebalance_) on_rebalance_(event);

  absl::Status status;
  switch (event.type) {
    case RebalanceEvent::Type::kAssign: {
      for (TopicPartitionOffset& tpo : event.partitions) tpo.metadata.clear();
      PartitionListPtr list = internal::ToPartitionList(event.partitions);
      if (event.cooperative) {
        ErrorPtr error(rd_kafka_incremental_assign(rk_.get(), list.get()));
        status = ErrorStatus(error.get(), "rebalance incremental assign");
      } else {
        status = ErrorStatus(rd_kafka_assign(rk_.get(), list.get()), "rebalance assign");
      }
      break;
    }
    case RebalanceEvent::Type::kRevoke:
    case RebalanceEvent::Type::kLost:
      if (event.cooperative) {
        ErrorPtr error(rd_kafka_incremental_unassign(rk_.get(), partitions));
        status = ErrorStatus(error.get(), "rebalance incremental unassign");
      } else {
        status = ErrorStatus(rd_kafka_assign(rk_.get(), nullptr), "rebalance unassign");
      }
      break;
    case RebalanceEvent::Type::kError:
      status = ErrorStatus(rd_kafka_assign(rk_.get(), nullptr), "unassign after rebalance error");
      break;
  }
  if (!status.ok()) {
    if (on_error_) {
      on_error_(status);
    } else {
      internal::LogClientError(rk_.get(), status);
    }
  }
}

void Consumer::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
  auto* self = static_cast<Consumer*>(opaque);
  absl::Status status =
      ErrorStatus(static_cast<rd_kafka_resp_err_t>(err), absl::StrCat("consumer: ", reason));
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    absl::Status fatal = FatalErrorStatus(rk, "consumer");
    if (!fatal.ok()) status = fatal;
  }
  if (self->on_error_) {
    self->on_error_(status);
  } else {
    internal::LogClientError(rk, status);
  }
}

absl::Status Consumer::Subscribe(const std::vector<std::string>& topics) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
  for (const std::string& topic : topics) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  return ErrorStatus(rd_kafka_subscribe(rk_.get(), list.get()), "subscribe");
}

absl::Status Consumer::Unsubscribe() {
  return ErrorStatus(rd_kafka_unsubscribe(rk_.get()), "unsubscribe");
}

absl::Status Consumer::Assign(const std::vector<TopicPartitionOffset>& partitions) {
  PartitionListPtr list = internal::ToPartitionList(partitions);
  return ErrorStatus(rd_kafka_assign(rk_.get(), list.get()), "assign");
}

absl::Status Consumer::Unassign() {
  return ErrorStatus(rd_kafka_assign(rk_.get(), nullptr), "unassign");
}

absl::Status Consumer::IncrementalAssign(const std::vector<TopicPartitionOffset>& partitions) {
  PartitionListPtr list = internal::ToPartitionList(partitions);
  ErrorPtr error(rd_kafka_incremental_assign(rk_.get(), list.get()));
  return ErrorStatus(error.get(), "incremental assign");
}

absl::Status Consumer::IncrementalUnassign(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list = internal::ToPartitionList(partitions);
  ErrorPtr error(rd_kafka_incremental_unassign(rk_.get(), list.get()));
  return ErrorStatus(error.get(), "incremental unassign");
}

absl::StatusOr<std::vector<TopicPartition>> Consumer::Assignment() const {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_assignment(rk_.get(), &raw);
  PartitionListPtr list(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, "get assignment");
  return internal::PartitionsFromList(list.get());
}

bool Consumer::AssignmentLost() const { return rd_kafka_assignment_lost(rk_.get()) != 0; }

std::string Consumer::RebalanceProtocol() const {
  const char* protocol = rd_kafka_rebalance_protocol(rk_.get());
  return protocol != nullptr ? protocol : "NONE";
}

absl::StatusOr<std::optional<Message>> Consumer::Wrap(rd_kafka_message_t* raw) {
  MessagePtr msg(raw);
  if (msg == nullptr) return std::optional<Message>();
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR && msg->rkt == nullptr) {
    // Not tied to a partition: a client-level error.
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
      absl::Status fatal = FatalErrorStatus(rk_.get(), "consumer");
      if (!fatal.ok()) return fatal;
    }
    const char* detail = rd_kafka_message_errstr(msg.get());
    return ErrorStatus(msg->err, absl::StrCat("consumer: ", detail != nullptr ? detail : ""));
  }
  return std::optional<Message>(Message(std::move(msg)));
}

absl::StatusOr<std::optional<Message>> Consumer::Poll(std::chrono::milliseconds timeout) {
  if (!pending_error_.ok()) return std::exchange(pending_error_, absl::OkStatus());
  return Wrap(rd_kafka_consumer_poll(rk_.get(), internal::TimeoutMs(timeout)));
}

absl::StatusOr<std::vector<Message>> Consumer::ConsumeBatch(std::chrono::milliseconds timeout,
                                                            size_t max_messages) {
  std::vector<Message> batch;
  if (max_messages == 0) return batch;
  absl::StatusOr<std::optional<Message>> first = Poll(timeout);
  if (!first.ok()) return first.status();
  if (!first->has_value()) return batch;
  batch.push_back(std::move(**first));
  while (batch.size() < max_messages) {
    absl::StatusOr<std::optional<Message>> next = Wrap(rd_kafka_consumer_poll(rk_.get(), 0));
    if (!next.ok()) {
      pending_error_ = next.status();
      break;
    }
    if (!next->has_value()) break;
    batch.push_back(std::move(**next));
  }
  return batch;
}

absl::Status Consumer::CommitList(const rd_kafka_topic_partition_list_t* list,
                                  std::chrono::milliseconds timeout) {
  QueuePtr queue(rd_kafka_queue_new(rk_.get()));
  KM_RETURN_IF_ERROR(
      ErrorStatus(rd_kafka_commit_queue(rk_.get(), list, queue.get(), nullptr, nullptr), "commit"));
  // The reply lands on our queue; if we give up first, librdkafka drops it with the queue.
  EventPtr event(rd_kafka_queue_poll(queue.get(), internal::TimeoutMs(timeout)));
  if (event == nullptr) {
    return ErrorStatus(RD_KAFKA_RESP_ERR__TIMED_OUT,
                       absl::StrCat("commit: no reply within ", timeout.count(), " ms"));
  }
  rd_kafka_resp_err_t err = rd_kafka_event_error(event.get());
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET && list == nullptr) return absl::OkStatus();
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    absl::Status partition_error =
        internal::FirstPartitionError(rd_kafka_event_topic_partition_list(event.get()), "commit");
    if (!partition_error.ok()) return partition_error;
    return ErrorStatus(err, absl::StrCat("commit: ", rd_kafka_event_error_string(event.get())));
  }
  return internal::FirstPartitionError(rd_kafka_event_topic_partition_list(event.get()), "commit");
}

absl::Status Consumer::Commit(const std::vector<TopicPartitionOffset>& offsets,
                              std::chrono::milliseconds timeout) {
  if (offsets.empty()) return absl::OkStatus();
  PartitionListPtr list = internal::ToPartitionList(offsets);
  return CommitList(list.get(), timeout);
}

absl::Status Consumer::CommitPositions(std::chrono::milliseconds timeout) {
  return CommitList(nullptr, timeout);
}

absl::StatusOr<std::vector<TopicPartitionOffset>> Consumer::Committed(
    const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) {
  PartitionListPtr list = internal::ToPartitionList(partitions);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk_.get(), list.get(), internal::TimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, "fetch committed offsets");
  return internal::FromPartitionList(list.get());
}

absl::StatusOr<std::vector<TopicPartitionOffset>> Consumer::Position(
    const std::vector<TopicPartition>& partitions) const {
  PartitionListPtr list = internal::ToPartitionList(partitions);
  rd_kafka_resp_err_t err = rd_kafka_position(rk_.get(), list.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, "get positions");
  return internal::FromPartitionList(list.get());
}

absl::StatusOr<Watermarks> Consumer::QueryWatermarks(const std::string& topic, int32_t partition,
                                                     std::chrono::milliseconds timeout) {
  return internal::QueryWatermarks(rk_.get(), topic, partition, timeout);
}

absl::StatusOr<Watermarks> Consumer::GetWatermarksCached(const std::string& topic,
                                                         int32_t partition) const {
  return internal::GetWatermarksCached(rk_.get(), topic, partition);
}

absl::StatusOr<std::vector<TopicPartitionOffset>> Consumer::OffsetsForTimes(
    const std::vector<TopicPartitionOffset>& timestamps, std::chrono::milliseconds timeout) {
  return internal::OffsetsForTimes(rk_.get(), timestamps, timeout);
}

absl::Status Consumer::Pause(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list = internal::ToPartitionList(partitions);
  KM_RETURN_IF_ERROR(ErrorStatus(rd_kafka_pause_partitions(rk_.get(), list.get()), "pause"));
  return internal::FirstPartitionError(list.get(), "pause");
}

absl::Status Consumer::Resume(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list = internal::ToPartitionList(partitions);
  KM_RETURN_IF_ERROR(ErrorStatus(rd_kafka_resume_partitions(rk_.get(), list.get()), "resume"));
  return internal::FirstPartitionError(list.get(), "resume");
}

absl::Status Consumer::SeekPartitions(const std::vector<TopicPartitionOffset>& offsets,
                                      std::chrono::milliseconds timeout) {
  if (offsets.empty()) return absl::OkStatus();
  PartitionListPtr list = internal::ToPartitionList(offsets);
  ErrorPtr error(rd_kafka_seek_partitions(rk_.get(), list.get(), internal::TimeoutMs(timeout)));
  KM_RETURN_IF_ERROR(ErrorStatus(error.get(), "seek"));
  return internal::FirstPartitionError(list.get(), "seek");
}

absl::Status Consumer::Reposition(const TopicPartitionOffset& offset,
                                  std::chrono::milliseconds timeout) {
  absl::Status sought = SeekPartitions({offset}, timeout);
  if (sought.ok() || KafkaErrorCode(sought) != RD_KAFKA_RESP_ERR__STATE) return sought;
  if (RebalanceProtocol() != kCooperative) {
    return absl::FailedPreconditionError(absl::StrCat(
        std::string(sought.message()), "; cannot re-add the partition under rebalance protocol ",
        RebalanceProtocol()));
  }
  // The partition's fetcher stopped (e.g. on an auto.offset.reset=error report) and librdkafka
  // refuses to seek it: take the partition out of the assignment and put it back at `offset`.
  KM_RETURN_IF_ERROR(IncrementalUnassign({offset.tp()}));
  return IncrementalAssign({offset});
}

absl::Status Consumer::Close() {
  if (closed_) return close_status_;
  closed_ = true;
  close_status_ = ErrorStatus(rd_kafka_consumer_close(rk_.get()), "close consumer");
  return close_status_;
}

absl::Status Consumer::FatalError() const { return FatalErrorStatus(rk_.get(), "consumer"); }

std::string Consumer::MemberId() const {
  char* id = rd_kafka_memberid(rk_.get());
  if (id == nullptr) return "";
  std::string out(id);
  rd_kafka_mem_free(rk_.get(), id);
  return out;
}

std::string Consumer::name() const { return rd_kafka_name(rk_.get()); }

int Consumer::OnStats(rd_kafka_t* rk, char* json, size_t len, void* opaque) noexcept {
  internal::DeliverStats(rk, json, len, static_cast<Consumer*>(opaque)->on_stats_);
  return 0;  // librdkafka frees `json`
}

}  // namespace kmirror::kafka
