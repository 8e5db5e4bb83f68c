// Registers the distributed-ts native addon: the FrameReader class, the frame writer functions, and
// shared-memory segments and mapped files (for SharedArray).
#include <napi.h>

#include "batch_scheduling.h"
#include "frame_reader.h"
#include "frame_writer.h"
#include "idle_spin.h"
#include "interrupts.h"
#include "file_mapping.h"
#include "mapping.h"
#include "segment_alloc.h"
#include "shm_segment.h"
#include "transfer_segments.h"
#include "young_buffers.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("FrameReader", dts::FrameReader::Init(env));
  exports.Set("writeFrame", Napi::Function::New<dts::WriteFrame>(env, "writeFrame"));
  exports.Set("frameLength", Napi::Function::New<dts::FrameLength>(env, "frameLength"));
  exports.Set("frameBytes", Napi::Function::New<dts::FrameBytes>(env, "frameBytes"));
  exports.Set("enableInterrupts", Napi::Function::New<dts::EnableInterrupts>(env, "enableInterrupts"));
  exports.Set("callBreakable", Napi::Function::New<dts::CallBreakable>(env, "callBreakable"));
  exports.Set("segmentPoolStats", Napi::Function::New<dts::SegmentPoolStats>(env, "segmentPoolStats"));
  exports.Set("FRAME_MAGIC", Napi::Number::New(env, dts::FrameReader::kMagic));
  exports.Set("FRAME_HEADER_BYTES", Napi::Number::New(env, double(dts::FrameReader::kHeaderBytes)));
  exports.Set("DESCRIPTOR_FIELDS", Napi::Number::New(env, double(dts::FrameReader::kDescriptorFields)));
  exports.Set("MIN_STAGING_BYTES", Napi::Number::New(env, double(dts::FrameReader::kMinStaging)));
  exports.Set("shmCreate", Napi::Function::New<dts::ShmCreate>(env, "shmCreate"));
  exports.Set("shmMap", Napi::Function::New<dts::ShmMap>(env, "shmMap"));
  exports.Set("shmUnlink", Napi::Function::New<dts::ShmUnlink>(env, "shmUnlink"));
  exports.Set("filePrepare", Napi::Function::New<dts::FilePrepare>(env, "filePrepare"));
  exports.Set("fileMap", Napi::Function::New<dts::FileMap>(env, "fileMap"));
  exports.Set("unmap", Napi::Function::New<dts::Unmap>(env, "unmap"));
  exports.Set("TransferSender", dts::TransferSender::Init(env));
  exports.Set("transferProbe", Napi::Function::New<dts::TransferProbe>(env, "transferProbe"));
  exports.Set("collectYoung", Napi::Function::New<dts::CollectYoung>(env, "collectYoung"));
  exports.Set("accountSurvivors", Napi::Function::New<dts::AccountSurvivors>(env, "accountSurvivors"));
  exports.Set("uncountedStats", Napi::Function::New<dts::UncountedStats>(env, "uncountedStats"));
  exports.Set("UNCOUNTED_MIN_BYTES", Napi::Number::New(env, double(dts::kUncountedMinBytes)));
  exports.Set("transferProbeCheck", Napi::Function::New<dts::TransferProbeCheck>(env, "transferProbeCheck"));
  exports.Set("setIdleSpin", Napi::Function::New<dts::SetIdleSpin>(env, "setIdleSpin"));
  exports.Set("idleSpinStats", Napi::Function::New<dts::IdleSpinStats>(env, "idleSpinStats"));
  exports.Set("setBatchScheduling", Napi::Function::New<dts::SetBatchScheduling>(env, "setBatchScheduling"));
  exports.Set("batchScheduling", Napi::Function::New<dts::BatchScheduling>(env, "batchScheduling"));
  exports.Set("mappingCount", Napi::Function::New<dts::MappingCount>(env, "mappingCount"));
  return exports;
}

}  // namespace

NODE_API_MODULE(distributed_native, Init)
