// The protocol front-end of one sandbox broker: a TCP listener on the broker's advertised port
// that answers the APIs the sandbox implements (Handlers) and relays everything else, byte for
// byte, to the same broker of the librdkafka mock.
//
// Responses go back in request order, as Kafka requires, whether answered locally or relayed
// (produce requests with acks=0 have no response and take no slot). Every method except the
// constructor runs on, or posts to, the cluster's io_context thread; Stop()/Start() block until
// done and are safe from any thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "lib/sandbox/handlers.h"

namespace kmirror::sandbox {

class FrontendConnection;

class BrokerFrontend {
 public:
  BrokerFrontend(boost::asio::io_context& io, int32_t broker_id, std::string host,
                 boost::asio::ip::tcp::endpoint upstream, Handlers* handlers);
  ~BrokerFrontend();

  // Binds (port 0 picks one; later calls reuse the first port) and starts accepting.
  absl::Status Start();
  // Closes the listener and every connection: clients see a refused, then dropped, broker.
  void Stop();
  uint16_t port() const { return port_; }
  int32_t broker_id() const { return broker_id_; }

 private:
  friend class FrontendConnection;
  void Accept();
  void Forget(FrontendConnection* c) { connections_.erase(c); }

  boost::asio::io_context& io_;
  const int32_t broker_id_;
  const std::string host_;
  const boost::asio::ip::tcp::endpoint upstream_;
  Handlers* handlers_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  std::set<FrontendConnection*> connections_;  // io thread only
};

}  // namespace kmirror::sandbox
