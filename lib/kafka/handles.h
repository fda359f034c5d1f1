// std::unique_ptr aliases owning every librdkafka handle that lib/kafka uses.
//
// The .cc files of this folder never call a *_destroy function by hand. producer.h, consumer.h and
// admin.h include this header for their private members only; code outside lib/kafka must not use
// these aliases (no `rd_kafka_` symbol may appear outside lib/kafka).
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>

namespace kmirror::kafka {

namespace handles_internal {

// A stateless deleter calling `Destroy` on a non-null pointer.
template <typename T, void (*Destroy)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p != nullptr) Destroy(p);
  }
};

}  // namespace handles_internal

template <typename T, void (*Destroy)(T*)>
using RdPtr = std::unique_ptr<T, handles_internal::Deleter<T, Destroy>>;

// Client instance. rd_kafka_destroy() blocks until librdkafka's threads have stopped.
using HandlePtr = RdPtr<rd_kafka_t, rd_kafka_destroy>;
// Configuration. Ownership passes to rd_kafka_new() only when it succeeds: release() then.
using ConfPtr = RdPtr<rd_kafka_conf_t, rd_kafka_conf_destroy>;
using PartitionListPtr =
    RdPtr<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>;
using QueuePtr = RdPtr<rd_kafka_queue_t, rd_kafka_queue_destroy>;
using EventPtr = RdPtr<rd_kafka_event_t, rd_kafka_event_destroy>;
using AdminOptionsPtr = RdPtr<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy>;
using NewTopicPtr = RdPtr<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy>;
using DeleteTopicPtr = RdPtr<rd_kafka_DeleteTopic_t, rd_kafka_DeleteTopic_destroy>;
using NewPartitionsPtr = RdPtr<rd_kafka_NewPartitions_t, rd_kafka_NewPartitions_destroy>;
using ConfigResourcePtr = RdPtr<rd_kafka_ConfigResource_t, rd_kafka_ConfigResource_destroy>;
using AclBindingPtr = RdPtr<rd_kafka_AclBinding_t, rd_kafka_AclBinding_destroy>;
// rd_kafka_AclBindingFilter_t is a typedef of rd_kafka_AclBinding_t in librdkafka.
using AclBindingFilterPtr = RdPtr<rd_kafka_AclBindingFilter_t, rd_kafka_AclBinding_destroy>;
// Headers. Ownership passes to rd_kafka_producev() only when it returns NO_ERROR.
using HeadersPtr = RdPtr<rd_kafka_headers_t, rd_kafka_headers_destroy>;
using MessagePtr = RdPtr<rd_kafka_message_t, rd_kafka_message_destroy>;
using ListConsumerGroupOffsetsPtr =
    RdPtr<rd_kafka_ListConsumerGroupOffsets_t, rd_kafka_ListConsumerGroupOffsets_destroy>;
using AlterConsumerGroupOffsetsPtr =
    RdPtr<rd_kafka_AlterConsumerGroupOffsets_t, rd_kafka_AlterConsumerGroupOffsets_destroy>;
using DeleteConsumerGroupOffsetsPtr =
    RdPtr<rd_kafka_DeleteConsumerGroupOffsets_t, rd_kafka_DeleteConsumerGroupOffsets_destroy>;
using DeleteGroupPtr = RdPtr<rd_kafka_DeleteGroup_t, rd_kafka_DeleteGroup_destroy>;
using ErrorPtr = RdPtr<rd_kafka_error_t, rd_kafka_error_destroy>;
using MetadataPtr = RdPtr<const rd_kafka_metadata_t, rd_kafka_metadata_destroy>;

}  // namespace kmirror::kafka
