/**
 * The byte layout of the codec's inline stream (SPEC §4). Every value starts with one tag byte:
 *
 * | byte        | meaning                                                                 |
 * |-------------|-------------------------------------------------------------------------|
 * | 0x00–0x7F   | the integer 0…127                                                       |
 * | 0x80–0x9F   | a string of 0…31 UTF-8 bytes, which follow                              |
 * | 0xA0–0xAF   | a plain object of record shape 0…15 (its values follow)                 |
 * | 0xB0–0xBF   | an array of length 0…15 (its elements follow)                           |
 * | 0xC0–0xDF   | the tags below                                                          |
 * | 0xE0–0xFF   | the integer −32…−1                                                      |
 *
 * Lengths, counts and ids are unsigned LEB128 varints (a varint may be padded with 0x80 bytes, which
 * the encoder uses when it reserves a header before it knows a length). Objects (everything that is
 * not a primitive) are numbered in the order they are first met, on both sides; `REF id` repeats one.
 */

/** Tags of the inline stream (see the file comment). */
export const enum Tag {
  FixStr = 0x80,
  FixShape = 0xa0,
  FixArray = 0xb0,
  Undefined = 0xc0,
  Null = 0xc1,
  False = 0xc2,
  True = 0xc3,
  /** varint n: the integer n */
  UInt = 0xc4,
  /** varint n: the integer −n */
  NegInt = 0xc5,
  /** 8 bytes: a float64, little-endian */
  Float64 = 0xc6,
  /** varint byteLength, UTF-8 bytes */
  Str = 0xc7,
  /** varint charLength, UTF-16LE code units (strings that are not well-formed UTF-16) */
  Str16 = 0xc8,
  /** 8 bytes: a BigInt in int64 range, little-endian */
  BigInt64 = 0xc9,
  /** sign byte (0 or 1), varint n, n bytes of magnitude, little-endian */
  BigIntN = 0xca,
  /** varint id: an object already met in this message */
  Ref = 0xcb,
  /** varint length, then elements (HoleRun allowed in place of an element) */
  Array = 0xcc,
  /** varint count: that many holes (only inside an array) */
  HoleRun = 0xcd,
  /** varint keyCount, keyCount strings, then the values: a plain object whose key list becomes the next record shape */
  NewShape = 0xce,
  /** varint shapeId, then the values */
  Shape = 0xcf,
  /** varint count, then (string key, value) pairs: a plain object with many keys */
  Dict = 0xd0,
  /** like Dict, for an object with a null prototype */
  NullProtoDict = 0xd1,
  /** varint size, then (key, value) pairs */
  Map = 0xd2,
  /** varint size, then values */
  Set = 0xd3,
  /** 8 bytes: float64 time value (NaN for an invalid date) */
  Date = 0xd4,
  /** source string, flags string, varint lastIndex */
  RegExp = 0xd5,
  /** varint byteLength, then a mode byte: 0 = the bytes follow inline, 1 = varint segment index */
  ArrayBuffer = 0xd6,
  /** view kind byte (ViewKind), buffer value (ArrayBuffer or Ref), varint byteOffset, varint length (elements; bytes for DataView) */
  View = 0xd7,
  /** base byte (ErrorBase), then the error body (see encoder) */
  Error = 0xd8,
  /** class reference (varint: 0 = a new name string follows, k = class k−1), then body kind (ClassBody) and body */
  Class = 0xd9,
  /** varint extension tag, then what the extension writes */
  Extension = 0xda,
  /** what the function codec writes */
  Function = 0xdb,
}

/** How a registered class instance's body is written after its class reference. */
export const enum ClassBody {
  /** its own enumerable fields, as a record shape + values */
  Fields = 0,
  /** an error body (the class extends Error) */
  Error = 1,
  /** one value: what the class's own `encode` returned */
  Custom = 2,
}

/** Modes of an ArrayBuffer body. */
export const enum BufferMode {
  Inline = 0,
  Segment = 1,
}

/** Typed array / DataView kinds, in the order of {@link VIEW_CTORS}. */
export const enum ViewKind {
  DataView = 0,
  Int8 = 1,
  Uint8 = 2,
  Uint8Clamped = 3,
  Int16 = 4,
  Uint16 = 5,
  Int32 = 6,
  Uint32 = 7,
  Float32 = 8,
  Float64 = 9,
  BigInt64 = 10,
  BigUint64 = 11,
  Buffer = 12,
}

/** Objects with more own keys than this travel as dictionaries rather than record shapes. */
export const MAX_SHAPE_KEYS = 64;
