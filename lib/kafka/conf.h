// Turns Properties into a librdkafka configuration object.
//
// Kept apart from properties.h so that the config layer can include properties.h without pulling
// in librdkafka; only lib/kafka's own clients include this header.
#pragma once

#include "absl/status/statusor.h"
#include "lib/kafka/handles.h"
#include "lib/kafka/properties.h"

namespace kmirror::kafka {

// Applies every property with rd_kafka_conf_set(). All unknown or invalid properties are reported
// together as one kInvalidArgument naming each property and librdkafka's reason. Thread-safe.
absl::StatusOr<ConfPtr> BuildConf(const Properties& properties);

}  // namespace kmirror::kafka
