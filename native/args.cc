#include "args.h"

#include <cmath>
#include <string>

#include "errors.h"

namespace dts {

std::string Describe(const Napi::Value& v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return Format("number %.17g", v.As<Napi::Number>().DoubleValue());
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_function: return "function";
    case napi_bigint: return "bigint";
    case napi_external: return "external";
    case napi_object: break;
  }
  if (v.IsArray()) return "Array";
  if (v.IsArrayBuffer()) return "ArrayBuffer";
  if (v.IsDataView()) return "DataView";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_bigint64_array: return "BigInt64Array";
      case napi_biguint64_array: return "BigUint64Array";
      default: break;
    }
    return "TypedArray";
  }
  return "object";
}

namespace {

size_t ElementBytes(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array:
    case napi_uint8_array:
    case napi_uint8_clamped_array:
      return 1;
    case napi_int16_array:
    case napi_uint16_array:
      return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array:
      return 4;
    default:  // float64, bigint64, biguint64
      return 8;
  }
}

}  // namespace

Bytes GetBytes(const Napi::Value& v, const char* fn, const char* what, bool allowBuffer) {
  Napi::Env env = v.Env();
  Bytes b;
  if (v.IsTypedArray() || v.IsDataView()) {
    // Node's napi_get_buffer_info takes any ArrayBufferView and gives its bytes at once, without
    // working out the element type kind by kind (this is on the path of every frame written).
    void* data = nullptr;
    size_t length = 0;
    if (napi_get_buffer_info(env, v, &data, &length) == napi_ok) {
      b.data = static_cast<uint8_t*>(data);
      b.length = length;
      return b;
    }
  }
  if (v.IsTypedArray()) {
    napi_typedarray_type type;
    void* data = nullptr;
    size_t length = 0;
    napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr);
    b.data = static_cast<uint8_t*>(data);
    b.length = length * ElementBytes(type);
    return b;
  }
  if (v.IsDataView()) {
    Napi::DataView d = v.As<Napi::DataView>();
    b.data = static_cast<uint8_t*>(d.Data());
    b.length = d.ByteLength();
    return b;
  }
  if (allowBuffer && v.IsArrayBuffer()) {
    Napi::ArrayBuffer a = v.As<Napi::ArrayBuffer>();
    b.data = static_cast<uint8_t*>(a.Data());
    b.length = a.ByteLength();
    return b;
  }
  throw Napi::TypeError::New(env, Format("%s: %s must be %s (got %s)", fn, what,
                                         allowBuffer ? "an ArrayBufferView or ArrayBuffer" : "a Uint8Array (or other ArrayBufferView)",
                                         Describe(v).c_str()));
}

double GetInteger(const Napi::Value& v, const char* fn, const char* what, double min, double max) {
  Napi::Env env = v.Env();
  if (!v.IsNumber()) throw Napi::TypeError::New(env, Format("%s: %s must be a number (got %s)", fn, what, Describe(v).c_str()));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d)
    throw Napi::RangeError::New(env, Format("%s: %s must be an integer (got %.17g)", fn, what, d));
  if (d < min || d > max)
    throw Napi::RangeError::New(env, Format("%s: %s must be between %.17g and %.17g (got %.17g)", fn, what, min, max, d));
  return d;
}

}  // namespace dts
