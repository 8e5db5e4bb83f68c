// Argument checking shared by every entry point: wrong types throw TypeError, bad values RangeError,
// each message naming the function and the argument.
#pragma once
#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace dts {

struct Bytes {
  uint8_t* data = nullptr;
  size_t length = 0;
};

// A short description of a value's type for messages ("string", "null", "Array", "Float64Array").
std::string Describe(const Napi::Value& v);

// The bytes of a TypedArray or DataView (and of an ArrayBuffer when allowBuffer). Throws TypeError.
Bytes GetBytes(const Napi::Value& v, const char* fn, const char* what, bool allowBuffer);

// A number that must be an integer in [min, max]. Throws TypeError / RangeError.
double GetInteger(const Napi::Value& v, const char* fn, const char* what, double min, double max);

}  // namespace dts
