#include "lib/sandbox/sandbox.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/logging.h"
#include "lib/kafka/mock_cluster.h"
#include "lib/sandbox/api.h"
#include "lib/sandbox/frontend.h"
#include "lib/sandbox/handlers.h"
#include "lib/sandbox/records.h"
#include "lib/sandbox/topic_config.h"
#include "lib/sandbox/wire.h"

namespace kmirror::sandbox {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// librdkafka 2.0.2's mock loses wake-ups: its thread serves its command queue, then drains its
// wake-up pipe, so a command queued in between (the next one of a caller issuing commands back to
// back) waits for the poll timeout, up to 1 s. A CreateTopics costs a command per partition and ran
// on the front-end's I/O thread: 1-4 s per topic, with every client of the cluster stalled. While a
// command is pending, MockWaker opens (and at once closes) a connection to a mock listener every
// millisecond: its arrival ends the mock's poll, and the command is served.
class MockWaker {
 public:
  explicit MockWaker(std::vector<kafka::MockCluster::Broker> brokers)
      : brokers_(std::move(brokers)), thread_([this] { Run(); }) {}
  ~MockWaker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  MockWaker(const MockWaker&) = delete;
  MockWaker& operator=(const MockWaker&) = delete;

  // Wakes the mock while it lives.
  class Scope {
   public:
    explicit Scope(MockWaker* w) : w_(w) {
      {
        std::lock_guard<std::mutex> lock(w_->mu_);
        ++w_->pending_;
      }
      w_->cv_.notify_all();
    }
    ~Scope() {
      std::lock_guard<std::mutex> lock(w_->mu_);
      --w_->pending_;
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    MockWaker* w_;
  };

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      if (pending_ == 0) {
        cv_.wait(lock, [this] { return stop_ || pending_ > 0; });
        continue;
      }
      lock.unlock();
      Poke();
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(1), [this] { return stop_; });
    }
  }

  // A connection to a mock listener, closed at once: its arrival ends the mock's poll.
  // Non-blocking, so a full accept backlog (e.g. once the mock thread stopped accepting) never
  // stalls the waker; a broker that is down refuses and the next one is tried.
  void Poke() {
    for (const auto& b : brokers_) {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(b.port);
      if (inet_pton(AF_INET, b.host.c_str(), &addr.sin_addr) != 1) continue;
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) return;
      const int r = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
      const bool reached = r == 0 || errno == EINPROGRESS;
      close(fd);
      if (reached) return;
    }
  }

  const std::vector<kafka::MockCluster::Broker> brokers_;
  std::mutex mu_;
  std::condition_variable cv_;
  int pending_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

namespace {

// One request to a mock broker over a blocking socket; returns the response body (after the
// correlation id). Used off the hot path only: start-up, transaction markers, the control API.
absl::StatusOr<std::string> MockRequest(const kafka::MockCluster::Broker& broker, int16_t api_key,
                                        int16_t api_version, std::string_view body) {
  try {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address(broker.host), broker.port));
    WireWriter req;
    req.Int16(api_key);
    req.Int16(api_version);
    req.Int32(1);
    req.String("kmirror-sandbox");
    req.Raw(body);
    WireWriter frame;
    frame.Int32(static_cast<int32_t>(req.size()));
    frame.Raw(req.data());
    asio::write(socket, asio::buffer(frame.data()));
    char size_buf[4];
    asio::read(socket, asio::buffer(size_buf, 4));
    int32_t size = WireReader(std::string_view(size_buf, 4)).Int32();
    if (size < 4 || size > (1 << 20)) {
      return absl::InternalError(absl::StrCat("bad response size ", size, " from mock broker"));
    }
    std::string payload(size, '\0');
    asio::read(socket, asio::buffer(payload.data(), size));
    return payload.substr(4);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach mock broker ", broker.id, ": ", e.what()));
  }
}

class MockClusterBackend : public MockBackend {
 public:
  MockClusterBackend(kafka::MockCluster* mock, MockWaker* waker) : mock_(mock), waker_(waker) {}
  absl::Status CreateTopic(const std::string& name, int partitions, int rf) override {
    MockWaker::Scope awake(waker_);
    return mock_->CreateTopic(name, partitions, rf);
  }
  absl::Status SetLeader(const std::string& topic, int32_t partition, int32_t broker) override {
    MockWaker::Scope awake(waker_);
    return mock_->SetPartitionLeader(topic, partition, broker);
  }
  absl::Status SetCoordinator(const std::string& key_type, const std::string& key,
                              int32_t broker) override {
    MockWaker::Scope awake(waker_);
    return mock_->SetCoordinator(key_type, key, broker);
  }

  // Produce v3 without a transactional id (the mock then checks no sequence), acks=-1.
  absl::StatusOr<int64_t> Append(const std::string& topic, int32_t partition, int32_t broker,
                                 std::string_view batch) override {
    WireWriter head;
    head.NullableString(std::nullopt);
    head.Int16(-1);    // acks
    head.Int32(5000);  // timeout
    WireWriter fields;
    fields.Bytes(std::string(batch));
    auto rest = OnePartition(broker, api::kProduce, 3, /*before topics*/ 0, head, topic, partition,
                             fields, "append to");
    if (!rest.ok()) return rest.status();
    WireReader r(*rest);
    const int64_t base_offset = r.Int64();
    if (!r.ok()) return absl::InternalError("malformed produce response from mock");
    return base_offset;
  }

  // Fetch v4 (read_uncommitted) at `offset`: the mock answers with the message set holding it.
  absl::StatusOr<std::string> BatchAt(const std::string& topic, int32_t partition, int32_t broker,
                                      int64_t offset) override {
    WireWriter head;
    head.Int32(-1);       // replica id
    head.Int32(0);        // max wait
    head.Int32(0);        // min bytes
    head.Int32(1 << 24);  // max bytes
    head.Int8(0);         // read_uncommitted
    WireWriter fields;
    fields.Int64(offset);
    fields.Int32(1 << 24);
    auto rest = OnePartition(broker, api::kFetch, 4, /*throttle first*/ 4, head, topic, partition,
                             fields, "fetch from");
    if (!rest.ok()) {
      return absl::NotFoundError(absl::StrCat("offset ", offset, " of ", topic, ":", partition,
                                              " is not in the log (", rest.status().message(),
                                              ")"));
    }
    WireReader r(*rest);
    r.Int64();  // high watermark
    r.Int64();  // last stable offset
    const int32_t aborted = r.ArrayLength(16);
    r.Skip(static_cast<size_t>(std::max(0, aborted)) * 16);
    const std::string records = r.Bytes().value_or("");
    if (!r.ok()) return absl::InternalError("malformed fetch response from mock");
    for (std::string_view batch : SplitBatches(records).batches) {
      auto h = ParseBatchHeader(batch);
      if (h && h->base_offset <= offset && offset <= h->last_offset()) return std::string(batch);
    }
    return absl::NotFoundError(
        absl::StrCat("offset ", offset, " of ", topic, ":", partition, " is not in the log"));
  }

 private:
  // A request about one partition: `head`, then topic and partition with `fields`, to `broker`.
  // Returns the response after the partition's error code (`skip` bytes come before the topics),
  // or that error.
  absl::StatusOr<std::string> OnePartition(int32_t broker, int16_t api_key, int16_t version,
                                           size_t skip, const WireWriter& head,
                                           const std::string& topic, int32_t partition,
                                           const WireWriter& fields, const char* what) const {
    const kafka::MockCluster::Broker* target = nullptr;
    for (const auto& b : mock_->brokers()) {
      if (b.id == broker) target = &b;
    }
    if (target == nullptr) return absl::UnavailableError(absl::StrCat("no mock broker ", broker));
    WireWriter w;
    w.Raw(head.data());
    w.Int32(1);
    w.String(topic);
    w.Int32(1);
    w.Int32(partition);
    w.Raw(fields.data());
    auto body = MockRequest(*target, api_key, version, w.data());
    if (!body.ok()) return body.status();
    WireReader r(*body);
    r.Skip(skip);
    r.ArrayLength();
    r.String();
    r.ArrayLength();
    r.Int32();
    const int16_t error = r.Int16();
    if (!r.ok()) return absl::InternalError("malformed response from mock broker");
    if (error != 0) {
      return absl::UnavailableError(absl::StrCat("mock broker ", broker, ": ", what, " ", topic,
                                                 ":", partition, ": error ", error));
    }
    return std::string(r.rest());
  }

  kafka::MockCluster* mock_;
  MockWaker* waker_;
};

// Asks the mock which APIs and versions it serves (ApiVersions v0).
absl::StatusOr<std::vector<ApiRange>> QueryMockApis(const kafka::MockCluster::Broker& broker) {
  auto payload = MockRequest(broker, api::kApiVersions, 0, "");
  if (!payload.ok()) return payload.status();
  WireReader r(*payload);
  int16_t error = r.Int16();
  std::vector<ApiRange> apis;
  int32_t n = r.ArrayLength(6);
  for (int32_t i = 0; i < n; ++i) {
    ApiRange a{};
    a.key = r.Int16();
    a.min = r.Int16();
    a.max = r.Int16();
    apis.push_back(a);
  }
  if (!r.ok() || error != 0) return absl::InternalError("bad ApiVersions response from mock");
  return apis;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Cluster>> Cluster::Start(ClusterOptions options,
                                                        const std::string& host) {
  std::unique_ptr<Cluster> c(new Cluster());
  c->options_ = options;
  auto mock = kafka::MockCluster::Create(options.brokers);
  if (!mock.ok()) return mock.status();
  c->mock_ = std::move(mock).value();
  auto apis = QueryMockApis(c->mock_->brokers().front());
  if (!apis.ok()) return apis.status();

  c->waker_ = std::make_unique<MockWaker>(c->mock_->brokers());
  c->backend_ = std::make_unique<MockClusterBackend>(c->mock_.get(), c->waker_.get());
  c->work_.emplace(c->io_.get_executor());
  c->io_thread_ = std::thread([io = &c->io_] { io->run(); });

  // No client knows a port before Start returns, so ports are filled in once listeners are bound.
  std::vector<BrokerInfo> brokers;
  for (const auto& b : c->mock_->brokers()) brokers.push_back(BrokerInfo{b.id, host, 0, true});
  c->state_ = std::make_unique<ClusterState>(options, c->backend_.get(), std::move(brokers));
  c->handlers_ = std::make_unique<Handlers>(c->state_.get(), *apis);
  for (const auto& b : c->mock_->brokers()) {
    tcp::endpoint upstream(asio::ip::make_address(b.host), b.port);
    auto fe = std::make_unique<BrokerFrontend>(c->io_, b.id, host, upstream, c->handlers_.get());
    if (auto s = fe->Start(); !s.ok()) {
      c->StopAll();
      return s;
    }
    {
      std::lock_guard<std::mutex> lock(c->state_->mu);
      c->state_->SetBrokerPort(b.id, fe->port());
    }
    c->frontends_.push_back(std::move(fe));
  }
  common::Logger("sandbox")->info("msg=\"cluster started\" cluster={} brokers={} bootstrap={}",
                                  options.name, options.brokers, c->bootstrap());
  return c;
}

Cluster::~Cluster() { StopAll(); }

void Cluster::StopAll() {
  for (auto& fe : frontends_) fe->Stop();
  work_.reset();
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
  frontends_.clear();
  if (mock_ != nullptr && waker_ != nullptr) {
    MockWaker::Scope awake(waker_.get());  // destroying the mock is a command too
    mock_.reset();
  }
  mock_.reset();
  waker_.reset();
}

std::string Cluster::bootstrap() const {
  std::vector<std::string> parts;
  for (const auto& fe : frontends_) {
    parts.push_back(absl::StrCat(state_->brokers()[0].host, ":", fe->port()));
  }
  return absl::StrJoin(parts, ",");
}

std::vector<int32_t> Cluster::broker_ids() const {
  std::vector<int32_t> ids;
  for (const auto& fe : frontends_) ids.push_back(fe->broker_id());
  return ids;
}

std::string Cluster::cluster_id() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->cluster_id();
}

absl::Status Cluster::SetBrokerUp(int32_t broker_id, bool up) {
  BrokerFrontend* fe = nullptr;
  for (auto& f : frontends_) {
    if (f->broker_id() == broker_id) fe = f.get();
  }
  if (fe == nullptr) {
    return absl::NotFoundError(absl::StrCat("cluster ", name(), " has no broker ", broker_id));
  }
  if (up) {
    MockWaker::Scope awake(waker_.get());
    if (auto s = mock_->SetBrokerUp(broker_id); !s.ok()) return s;
    if (auto s = fe->Start(); !s.ok()) return s;
  } else {
    fe->Stop();
    MockWaker::Scope awake(waker_.get());
    if (auto s = mock_->SetBrokerDown(broker_id); !s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  common::Logger("sandbox")->info("msg=\"broker {}\" cluster={} broker={}", up ? "up" : "down",
                                  name(), broker_id);
  return state_->SetBrokerUp(broker_id, up);
}

absl::Status Cluster::SetBrokerRtt(int32_t broker_id, int rtt_ms) {
  if (rtt_ms < 0) return absl::InvalidArgumentError("rtt must be >= 0");
  MockWaker::Scope awake(waker_.get());
  return mock_->SetBrokerRtt(broker_id, rtt_ms);
}

absl::Status Cluster::InjectErrors(int16_t api_key, const std::vector<int16_t>& errors,
                                   std::optional<int32_t> broker_id) {
  // OffsetCommit is forwarded, but the front-end answers some commits itself (see
  // Handlers::HandleInsteadOfForwarding), so cluster-wide errors for it are queued there too.
  if (FindApi(LocalApis(), api_key) || (api_key == api::kOffsetCommit && !broker_id)) {
    if (broker_id) {
      return absl::InvalidArgumentError(
          absl::StrCat("api ", api_key, " is served by the front-end: errors apply cluster-wide"));
    }
    std::lock_guard<std::mutex> lock(state_->mu);
    state_->PushInjectedErrors(api_key, errors);
    return absl::OkStatus();
  }
  MockWaker::Scope awake(waker_.get());
  if (broker_id) {
    std::vector<std::pair<int16_t, int>> with_rtt;
    for (int16_t e : errors) with_rtt.emplace_back(e, 0);
    return mock_->PushBrokerRequestErrors(*broker_id, api_key, with_rtt);
  }
  mock_->PushRequestErrors(api_key, errors);
  return absl::OkStatus();
}

absl::Status Cluster::MoveLeader(const std::string& topic, int32_t partition, int32_t broker_id) {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->MoveLeader(topic, partition, broker_id);
}

absl::Status Cluster::InjectProduceErrors(const std::string& topic, int32_t partition,
                                          const std::vector<int16_t>& errors) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (auto t = state_->Partition(topic, partition); !t.ok()) return t.status();
  state_->PushProduceErrors(topic, partition, errors);
  return absl::OkStatus();
}

absl::Status Cluster::DeleteRecords(const std::string& topic, int32_t partition,
                                    const std::vector<int64_t>& offsets) {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto t = state_->Partition(topic, partition);
  if (!t.ok()) return t.status();
  for (int64_t o : offsets) {
    const std::string where = absl::StrCat("offset ", o, " of ", topic, ":", partition);
    if (o < 0) return absl::InvalidArgumentError(where + " is negative");
    auto batch = backend_->BatchAt(topic, partition, (*t)->leaders[partition], o);
    if (!batch.ok()) return batch.status();
    auto h = ParseBatchHeader(*batch);
    if (!h) return absl::InternalError(where + ": the mock returned no readable batch");
    if (h->control()) return absl::InvalidArgumentError(where + " is a transaction marker");
    if (h->compressed()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " is in a compressed batch (", h->base_offset, "-", h->last_offset(),
                       "); the sandbox deletes records from uncompressed batches only"));
    }
  }
  state_->logs().Delete({topic, partition}, offsets);
  common::Logger("sandbox")->info("msg=\"records deleted\" cluster={} partition={}:{} count={}",
                                  name(), topic, partition, offsets.size());
  return absl::OkStatus();
}

absl::Status Cluster::CreateTopic(const std::string& topic, int32_t partitions, int16_t rf,
                                  const std::map<std::string, std::string>& configs) {
  if (auto bad = ValidateTopicName(topic)) return absl::InvalidArgumentError(*bad);
  for (const auto& [k, v] : configs) {
    if (auto bad = ValidateTopicConfig(k, v)) return absl::InvalidArgumentError(*bad);
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  if (state_->Topic(topic) != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("topic ", topic, " already exists"));
  }
  if (rf == -1) rf = static_cast<int16_t>(state_->DefaultReplicationFactor());
  if (partitions < 1 || rf < 1 || rf > static_cast<int>(state_->brokers().size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid partitions ", partitions, " or replication factor ", rf));
  }
  return state_->CreateTopic(topic, partitions, rf, {}, configs);
}

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Start(const std::vector<ClusterOptions>& clusters,
                                                        const std::string& host) {
  auto sb = std::unique_ptr<Sandbox>(new Sandbox());
  for (const auto& opts : clusters) {
    if (sb->clusters_.count(opts.name)) {
      return absl::InvalidArgumentError(absl::StrCat("cluster ", opts.name, " given twice"));
    }
    auto c = Cluster::Start(opts, host);
    if (!c.ok()) return c.status();
    sb->clusters_[opts.name] = std::move(c).value();
  }
  return sb;
}

Cluster* Sandbox::cluster(const std::string& name) const {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Sandbox::names() const {
  std::vector<std::string> out;
  for (const auto& [n, c] : clusters_) out.push_back(n);
  return out;
}

std::string Sandbox::DescribeJson() const {
  nlohmann::json j;
  j["clusters"] = nlohmann::json::object();
  for (const auto& [n, c] : clusters_) {
    j["clusters"][n] = {{"bootstrap", c->bootstrap()},
                        {"cluster_id", c->cluster_id()},
                        {"brokers", c->broker_ids()}};
  }
  return j.dump();
}

absl::StatusOr<ClusterOptions> ParseClusterSpec(const std::string& spec) {
  ClusterOptions o;
  auto colon = spec.find(':');
  o.name = spec.substr(0, colon);
  if (o.name.empty())
    return absl::InvalidArgumentError(absl::StrCat("cluster spec '", spec, "': empty name"));
  for (char ch : o.name) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-')) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster spec '", spec, "': name may use letters, digits, '_' and '-'"));
    }
  }
  if (colon != std::string::npos) {
    if (!absl::SimpleAtoi(spec.substr(colon + 1), &o.brokers) || o.brokers < 1 || o.brokers > 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster spec '", spec, "': broker count must be 1..32"));
    }
  }
  return o;
}

}  // namespace kmirror::sandbox
