#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <map>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/dr/divergence.h"
#include "lib/dr/record_reader.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"

namespace kmirror::dr {
namespace {

using nlohmann::json;

constexpr char kOriginHeader[] = "kmirror-quarantined-from";

// Writes JSON lines to a file created exclusively.
class LineFile {
 public:
  static absl::StatusOr<std::unique_ptr<LineFile>> Create(const std::string& path) {
    if (path.empty() || path[0] != '/') {
      return absl::InvalidArgumentError("export file must be an absolute path, got \"" + path +
                                        "\"");
    }
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
      return absl::FailedPreconditionError(absl::StrCat("cannot create export file ", path, ": ",
                                                        std::strerror(errno),
                                                        " (it must not exist yet)"));
    }
    auto f = std::unique_ptr<LineFile>(new LineFile());
    f->file_ = ::fdopen(fd, "w");
    return f;
  }
  ~LineFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  absl::Status Write(const json& line) {
    std::string text = line.dump() + "\n";
    if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) {
      return absl::InternalError(absl::StrCat("export file: write failed: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  }
  absl::Status Close() {
    bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
    std::fclose(file_);
    file_ = nullptr;
    return ok ? absl::OkStatus() : absl::InternalError("export file: flush failed");
  }

 private:
  LineFile() = default;
  std::FILE* file_ = nullptr;
};

std::string B64(std::string_view v) {
  return absl::Base64Escape(absl::string_view(v.data(), v.size()));
}

std::optional<std::string> Copy(std::optional<std::string_view> v) {
  if (!v) return std::nullopt;
  return std::string(*v);
}

std::string OriginOf(const std::string& source_alias, const DivergentRange& r) {
  return absl::StrCat(source_alias, "/", r.topic, "/", r.partition, "/");
}

// Where copying range `r` into `quarantine` starts: after the newest quarantined record when
// that record came from inside `r`, else at r.from.
absl::StatusOr<int64_t> ResumeAfterQuarantined(kafka::AdminClient& admin, kafka::Consumer& consumer,
                                               const std::string& quarantine,
                                               const std::string& source_alias,
                                               const DivergentRange& r,
                                               std::chrono::steady_clock::time_point deadline) {
  auto wm = admin.QueryWatermarks(quarantine, r.partition);
  if (!wm.ok()) return wm.status();
  if (wm->high <= wm->low) return r.from;
  const std::string prefix = OriginOf(source_alias, r);
  std::optional<int64_t> last;
  absl::Status read = ReadRange(consumer, quarantine, r.partition, wm->high - 1, wm->high, deadline,
                                [&](const kafka::Message& m) -> absl::Status {
                                  auto origin = m.header(kOriginHeader);
                                  if (!origin || !*origin) return absl::OkStatus();
                                  std::string_view o = **origin;
                                  int64_t offset = 0;
                                  if (o.substr(0, prefix.size()) == prefix) {
                                    const std::string_view digits = o.substr(prefix.size());
                                    auto [end, ec] = std::from_chars(
                                        digits.data(), digits.data() + digits.size(), offset);
                                    if (ec == std::errc() && end == digits.data() + digits.size())
                                      last = offset;
                                  }
                                  return absl::OkStatus();
                                });
  if (!read.ok()) return read;
  if (last && *last >= r.from && *last < r.to) return *last + 1;
  return r.from;
}

}  // namespace

std::string QuarantineTopic(const std::string& source, const std::string& target,
                            const std::string& topic) {
  return absl::StrCat("kmirror-quarantine.", source, "-", target, ".", topic, ".internal");
}

absl::StatusOr<json> PreserveDivergent(const kafka::Properties& properties,
                                       const std::vector<DivergentRange>& ranges,
                                       const PreserveTarget& where,
                                       std::chrono::milliseconds timeout) {
  auto log = common::Logger("control");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto consumer = RangeConsumer(
      properties, "kmirror.failback." + where.source_alias + "-" + where.target_alias);
  if (!consumer.ok()) return consumer.status();
  std::unique_ptr<kafka::AdminClient> admin;
  std::unique_ptr<kafka::Producer> producer;
  std::unique_ptr<LineFile> file;
  absl::Status delivery;
  if (where.to_file) {
    auto f = LineFile::Create(where.file);
    if (!f.ok()) return f.status();
    file = std::move(*f);
  } else {
    auto a = kafka::AdminClient::Create(properties);
    if (!a.ok()) return a.status();
    admin = std::move(*a);
    kafka::Properties pp = properties;
    pp.Set("enable.idempotence", "true");
    auto p = kafka::Producer::Create(pp, [&delivery](const kafka::DeliveryReport& r) {
      if (!r.status.ok() && delivery.ok()) delivery = r.status;
    });
    if (!p.ok()) return p.status();
    producer = std::move(*p);
  }

  json out = json::array();
  std::map<std::string, bool> created;
  for (const DivergentRange& r : ranges) {
    json entry{{"topic", r.topic},
               {"partition", r.partition},
               {"from_offset", r.from},
               {"to_offset", r.to},
               {"records", 0}};
    if (r.to <= r.from) {
      out.push_back(entry);
      continue;
    }
    int64_t start = r.from;
    std::string quarantine;
    if (!where.to_file) {
      quarantine = QuarantineTopic(where.source_alias, where.target_alias, r.topic);
      entry["quarantine_topic"] = quarantine;
      if (!created[quarantine]) {
        auto md = admin->Metadata(std::vector<std::string>{r.topic});
        int32_t partitions = r.partition + 1;
        if (md.ok()) {
          for (const auto& t : md->topics) {
            if (t.name == r.topic) {
              partitions = std::max<int32_t>(partitions, static_cast<int32_t>(t.partitions.size()));
            }
          }
        }
        kafka::NewTopic nt;
        nt.name = quarantine;
        nt.partitions = partitions;
        auto res = admin->CreateTopics({nt});
        if (!res.ok()) return res.status();
        if (!res->empty() && !(*res)[0].status.ok() &&
            (*res)[0].status.code() != absl::StatusCode::kAlreadyExists) {
          return (*res)[0].status;
        }
        created[quarantine] = true;
      }
      // A previous, interrupted run of this failback may have copied the start of this range:
      // the quarantine partition's newest record names its origin. Records of earlier DR cycles
      // (older offsets) do not count.
      auto resumed =
          ResumeAfterQuarantined(*admin, **consumer, quarantine, where.source_alias, r, deadline);
      if (!resumed.ok()) return resumed.status();
      start = *resumed;
      entry["already_preserved"] = start - r.from;
    } else {
      entry["file"] = where.file;
    }
    if (start < r.to) {
      absl::Status read = ReadRange(
          **consumer, r.topic, r.partition, start, r.to, deadline,
          [&](const kafka::Message& m) -> absl::Status {
            entry["records"] = entry["records"].get<int64_t>() + 1;
            if (file) {
              json headers = json::array();
              for (const auto& h : m.headers()) {
                headers.push_back(
                    {{"name", std::string(h.name)},
                     {"value_base64", h.value ? json(B64(*h.value)) : json(nullptr)}});
              }
              return file->Write(
                  {{"cluster", where.source_alias},
                   {"topic", r.topic},
                   {"partition", r.partition},
                   {"offset", m.offset()},
                   {"timestamp_ms", m.timestamp_ms()},
                   {"key_base64", m.key() ? json(B64(*m.key())) : json(nullptr)},
                   {"value_base64", m.value() ? json(B64(*m.value())) : json(nullptr)},
                   {"headers", headers}});
            }
            kafka::ProduceRecord pr;
            pr.topic = quarantine;
            pr.partition = r.partition;
            pr.key = Copy(m.key());
            pr.value = Copy(m.value());
            pr.timestamp_ms = m.timestamp_ms();
            for (const auto& h : m.headers())
              pr.headers.push_back({std::string(h.name), Copy(h.value)});
            pr.headers.push_back(
                {kOriginHeader, absl::StrCat(OriginOf(where.source_alias, r), m.offset())});
            return producer->Produce(pr);
          });
      if (!read.ok()) return read;
      if (producer) {
        if (absl::Status s = producer->Flush(std::chrono::seconds(30)); !s.ok()) return s;
        if (!delivery.ok()) return delivery;
      }
    }
    log->warn("msg=\"divergent records preserved\" topic={} partition={} from={} to={} where={}",
              r.topic, r.partition, r.from, r.to, where.to_file ? where.file : quarantine);
    out.push_back(entry);
  }
  if (file) {
    if (absl::Status s = file->Close(); !s.ok()) return s;
  }
  return out;
}

}  // namespace kmirror::dr
