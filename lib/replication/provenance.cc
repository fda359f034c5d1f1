#include "lib/replication/provenance.h"

namespace kmirror::replication {
namespace {

void PutString(std::string& out, std::string_view s) {
  out.push_back(static_cast<char>((s.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(s.size() & 0xff));
  out.append(s);
}

bool GetString(std::string_view& in, std::string& out) {
  if (in.size() < 2) return false;
  size_t len = (static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]);
  if (in.size() < 2 + len) return false;
  out.assign(in.substr(2, len));
  in.remove_prefix(2 + len);
  return true;
}

}  // namespace

std::string EncodeProvenance(const Provenance& p) {
  std::string out;
  out.reserve(1 + 4 + p.origin.size() + p.source.size() + 8);
  out.push_back(1);
  PutString(out, p.origin);
  PutString(out, p.source);
  auto v = static_cast<uint64_t>(p.offset.value);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

std::optional<Provenance> DecodeProvenance(std::string_view in) {
  if (in.empty() || in[0] != 1) return std::nullopt;
  in.remove_prefix(1);
  Provenance p;
  if (!GetString(in, p.origin) || !GetString(in, p.source) || in.size() != 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  p.offset = SourceOffset(static_cast<int64_t>(v));
  return p;
}

}  // namespace kmirror::replication
