// Registers the distributed-ts native addon: the FrameReader class and the frame writer functions.
#include <napi.h>

#include "frame_reader.h"
#include "frame_writer.h"
#include "segment_alloc.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("FrameReader", dts::FrameReader::Init(env));
  exports.Set("writeFrame", Napi::Function::New<dts::WriteFrame>(env, "writeFrame"));
  exports.Set("frameLength", Napi::Function::New<dts::FrameLength>(env, "frameLength"));
  exports.Set("frameBytes", Napi::Function::New<dts::FrameBytes>(env, "frameBytes"));
  exports.Set("segmentPoolStats", Napi::Function::New<dts::SegmentPoolStats>(env, "segmentPoolStats"));
  exports.Set("FRAME_MAGIC", Napi::Number::New(env, dts::FrameReader::kMagic));
  exports.Set("FRAME_HEADER_BYTES", Napi::Number::New(env, double(dts::FrameReader::kHeaderBytes)));
  exports.Set("DESCRIPTOR_FIELDS", Napi::Number::New(env, double(dts::FrameReader::kDescriptorFields)));
  exports.Set("MIN_STAGING_BYTES", Napi::Number::New(env, double(dts::FrameReader::kMinStaging)));
  return exports;
}

}  // namespace

NODE_API_MODULE(distributed_native, Init)
