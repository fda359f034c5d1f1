#include "lib/sandbox/frontend.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <future>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/sandbox/wire.h"

namespace kmirror::sandbox {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// socket.request.max.bytes of a stock broker.
constexpr int32_t kMaxFrame = 100 * 1024 * 1024;

// The mock answers a fetch that finds no data only after the full max_wait_ms, even when records
// arrive meanwhile (a broker answers as soon as they do). Capping the wait keeps end-to-end latency
// realistic: an idle consumer re-polls every kFetchMaxWaitMs instead.
constexpr int32_t kFetchMaxWaitMs = 10;
constexpr int32_t kMaxSessionTimeoutMs = 10000;

void CapFetchWait(const RequestHeader& h, std::string& frame) {
  if (h.api_key != api::kFetch || h.api_version > 11) return;
  const size_t at = 4 + h.body_offset + 4;  // frame size, header, replica_id
  if (frame.size() < at + 4) return;
  WireReader r(std::string_view(frame).substr(at, 4));
  if (r.Int32() <= kFetchMaxWaitMs) return;
  WireWriter w;
  w.Int32(kFetchMaxWaitMs);
  frame.replace(at, 4, w.data());
}

// The mock keeps a group in its joining state for the last session timeout after the last member
// leaves, so a restarted member waits that long (45 s by default) where a broker would let it in
// after group.initial.rebalance.delay.ms. Capping the session timeout bounds that wait; members
// still heartbeat every 3 s by default, well inside the cap. JoinGroup v0-5 is not flexible.
void CapSessionTimeout(const RequestHeader& h, std::string& frame) {
  if (h.api_key != api::kJoinGroup || h.api_version > 5) return;
  const size_t group_at = 4 + h.body_offset;
  if (frame.size() < group_at + 2) return;
  WireReader g(std::string_view(frame).substr(group_at, 2));
  const int16_t group_len = g.Int16();
  if (group_len < 0) return;
  const size_t at = group_at + 2 + static_cast<size_t>(group_len);
  if (frame.size() < at + 4) return;
  WireReader r(std::string_view(frame).substr(at, 4));
  if (r.Int32() <= kMaxSessionTimeoutMs) return;
  WireWriter w;
  w.Int32(kMaxSessionTimeoutMs);
  frame.replace(at, 4, w.data());
}

// Produce with acks=0 gets no response from a broker.
bool ExpectsNoResponse(const RequestHeader& h, std::string_view body) {
  if (h.api_key != api::kProduce) return false;
  WireReader r(body);
  if (h.api_version >= 3) r.NullableString();  // transactional id
  return r.Int16() == 0 && r.ok();
}
}  // namespace

class FrontendConnection : public std::enable_shared_from_this<FrontendConnection> {
 public:
  FrontendConnection(BrokerFrontend* owner, tcp::socket client)
      : owner_(owner), client_(std::move(client)), upstream_(owner->io_) {
    boost::system::error_code ec;
    auto remote = client_.remote_endpoint(ec);
    info_.broker_id = owner_->broker_id_;
    info_.client_host = ec ? "unknown" : absl::StrCat("/", remote.address().to_string());
  }

  void Start() {
    owner_->connections_.insert(this);
    client_.set_option(tcp::no_delay(true));
    auto self = shared_from_this();
    upstream_.async_connect(owner_->upstream_, [self](const boost::system::error_code& ec) {
      if (ec) return self->Close("upstream connect failed: " + ec.message());
      self->upstream_.set_option(tcp::no_delay(true));
      self->upstream_connected_ = true;
      self->WriteUpstream();
      self->ReadUpstream();
    });
    ReadClient();
  }

  void Close(const std::string& why) {
    if (closed_) return;
    closed_ = true;
    if (!why.empty()) {
      common::Logger("sandbox")->debug(
          "msg=\"connection closed\" broker={} client={} reason=\"{}\"", info_.broker_id,
          info_.client_host, why);
    }
    boost::system::error_code ec;
    client_.close(ec);
    upstream_.close(ec);
    owner_->Forget(this);
  }

 private:
  struct Slot {
    int32_t correlation_id;
    bool ready = false;
    std::string frame;
    std::optional<Observation> observation;
  };

  void ReadClient() {
    auto self = shared_from_this();
    asio::async_read(client_, asio::buffer(client_size_, 4),
                     [self](const boost::system::error_code& ec, size_t) {
                       if (ec) return self->Close("");
                       WireReader r(std::string_view(self->client_size_, 4));
                       int32_t size = r.Int32();
                       if (size < 8 || size > kMaxFrame) {
                         return self->Close(absl::StrCat("invalid request size ", size));
                       }
                       self->client_frame_.assign(4 + size, '\0');
                       std::memcpy(self->client_frame_.data(), self->client_size_, 4);
                       asio::async_read(self->client_,
                                        asio::buffer(self->client_frame_.data() + 4, size),
                                        [self](const boost::system::error_code& ec2, size_t) {
                                          if (ec2) return self->Close("");
                                          self->OnRequest();
                                          if (!self->closed_) self->ReadClient();
                                        });
                     });
  }

  void OnRequest() {
    std::string frame = std::move(client_frame_);
    std::string_view payload = std::string_view(frame).substr(4);
    auto header = ParseRequestHeader(payload);
    if (!header) return Close("malformed request header");
    std::string_view body = payload.substr(header->body_offset);
    Handlers* handlers = owner_->handlers_;
    if (handlers->IsLocal(header->api_key)) {
      auto response = handlers->HandleLocal(*header, body, info_);
      if (!response) {
        return Close(absl::StrCat("malformed or unsupported request api_key=", header->api_key,
                                  " api_version=", header->api_version));
      }
      slots_.push_back(Slot{header->correlation_id, true,
                            ResponseFrame(header->correlation_id, *response), std::nullopt});
      FlushResponses();
      return;
    }
    if (auto response = handlers->HandleInsteadOfForwarding(*header, body, info_)) {
      slots_.push_back(Slot{header->correlation_id, true,
                            ResponseFrame(header->correlation_id, *response), std::nullopt});
      FlushResponses();
      return;
    }
    CapSessionTimeout(*header, frame);  // same size: `body` still views the frame
    if (!ExpectsNoResponse(*header, body)) {
      slots_.push_back(
          Slot{header->correlation_id, false, "", handlers->ObserveRequest(*header, body, info_)});
    }
    CapFetchWait(*header, frame);
    upstream_out_.push_back(std::move(frame));
    WriteUpstream();
  }

  void ReadUpstream() {
    auto self = shared_from_this();
    asio::async_read(upstream_, asio::buffer(upstream_size_, 4),
                     [self](const boost::system::error_code& ec, size_t) {
                       if (ec) return self->Close("broker connection closed");
                       WireReader r(std::string_view(self->upstream_size_, 4));
                       int32_t size = r.Int32();
                       if (size < 4 || size > kMaxFrame) {
                         return self->Close(absl::StrCat("invalid response size ", size));
                       }
                       self->upstream_frame_.assign(4 + size, '\0');
                       std::memcpy(self->upstream_frame_.data(), self->upstream_size_, 4);
                       asio::async_read(self->upstream_,
                                        asio::buffer(self->upstream_frame_.data() + 4, size),
                                        [self](const boost::system::error_code& ec2, size_t) {
                                          if (ec2) return self->Close("broker connection closed");
                                          self->OnResponse();
                                          if (!self->closed_) self->ReadUpstream();
                                        });
                     });
  }

  void OnResponse() {
    std::string frame = std::move(upstream_frame_);
    WireReader r(std::string_view(frame).substr(4));
    int32_t correlation_id = r.Int32();
    for (Slot& slot : slots_) {
      if (slot.ready || slot.correlation_id != correlation_id) continue;
      ResponseEdit edit;
      if (slot.observation) {
        edit = owner_->handlers_->ObserveResponse(*slot.observation,
                                                  std::string_view(frame).substr(8), info_);
      }
      slot.frame = edit.body ? ResponseFrame(correlation_id, *edit.body) : std::move(frame);
      if (edit.hold) return Hold(correlation_id);
      slot.ready = true;
      FlushResponses();
      return;
    }
    Close(absl::StrCat("response with unknown correlation id ", correlation_id));
  }

  // Marks the response ready after the fetch wait (responses behind it wait too: request order).
  void Hold(int32_t correlation_id) {
    auto timer = std::make_shared<asio::steady_timer>(owner_->io_);
    timer->expires_after(std::chrono::milliseconds(kFetchMaxWaitMs));
    timer->async_wait(
        [self = shared_from_this(), timer, correlation_id](const boost::system::error_code&) {
          if (self->closed_) return;
          for (Slot& slot : self->slots_) {
            if (slot.correlation_id == correlation_id && !slot.ready) {
              slot.ready = true;
              break;
            }
          }
          self->FlushResponses();
        });
  }

  void FlushResponses() {
    while (!slots_.empty() && slots_.front().ready) {
      client_out_.push_back(std::move(slots_.front().frame));
      slots_.pop_front();
    }
    WriteClient();
  }

  // One gather-write at a time per socket; queued frames stay alive in `writing`.
  static void WriteQueue(std::shared_ptr<FrontendConnection> self, tcp::socket& socket,
                         std::deque<std::string>& queue, std::vector<std::string>& writing,
                         bool& busy) {
    if (busy || queue.empty() || self->closed_) return;
    busy = true;
    writing.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.end()));
    queue.clear();
    std::vector<asio::const_buffer> buffers;
    for (const auto& f : writing) buffers.push_back(asio::buffer(f));
    asio::async_write(
        socket, buffers,
        [self, &socket, &queue, &writing, &busy](const boost::system::error_code& ec, size_t) {
          busy = false;
          writing.clear();
          if (ec) return self->Close("write failed: " + ec.message());
          WriteQueue(self, socket, queue, writing, busy);
        });
  }

  void WriteClient() {
    WriteQueue(shared_from_this(), client_, client_out_, client_writing_, client_busy_);
  }
  void WriteUpstream() {
    if (!upstream_connected_) return;
    WriteQueue(shared_from_this(), upstream_, upstream_out_, upstream_writing_, upstream_busy_);
  }

  BrokerFrontend* owner_;
  tcp::socket client_;
  tcp::socket upstream_;
  ClientInfo info_;
  bool closed_ = false;
  bool upstream_connected_ = false;
  char client_size_[4];
  char upstream_size_[4];
  std::string client_frame_;
  std::string upstream_frame_;
  std::deque<Slot> slots_;
  std::deque<std::string> client_out_, upstream_out_;
  std::vector<std::string> client_writing_, upstream_writing_;
  bool client_busy_ = false, upstream_busy_ = false;
};

BrokerFrontend::BrokerFrontend(asio::io_context& io, int32_t broker_id, std::string host,
                               tcp::endpoint upstream, Handlers* handlers)
    : io_(io),
      broker_id_(broker_id),
      host_(std::move(host)),
      upstream_(std::move(upstream)),
      handlers_(handlers) {}

BrokerFrontend::~BrokerFrontend() = default;

absl::Status BrokerFrontend::Start() {
  std::promise<absl::Status> done;
  asio::post(io_, [this, &done] {
    if (acceptor_) return done.set_value(absl::OkStatus());
    boost::system::error_code ec;
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    tcp::endpoint ep(asio::ip::make_address(host_, ec), port_);
    if (!ec) acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return done.set_value(absl::UnavailableError(absl::StrCat(
          "broker ", broker_id_, " cannot listen on ", host_, ":", port_, ": ", ec.message())));
    }
    port_ = acceptor->local_endpoint().port();
    acceptor_ = std::move(acceptor);
    Accept();
    done.set_value(absl::OkStatus());
  });
  return done.get_future().get();
}

void BrokerFrontend::Accept() {
  acceptor_->async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec || !acceptor_) return;  // closed
    std::make_shared<FrontendConnection>(this, std::move(socket))->Start();
    Accept();
  });
}

void BrokerFrontend::Stop() {
  std::promise<void> done;
  asio::post(io_, [this, &done] {
    if (acceptor_) {
      boost::system::error_code ec;
      acceptor_->close(ec);
      acceptor_.reset();
    }
    auto open = connections_;
    for (FrontendConnection* c : open) c->Close("broker stopped");
    done.set_value();
  });
  done.get_future().get();
}

}  // namespace kmirror::sandbox
