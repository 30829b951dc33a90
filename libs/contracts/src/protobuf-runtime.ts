import * as $protobuf from 'protobufjs/minimal';

// Our 64-bit fields are Unix-ms timestamps, durations and byte sizes, all far below 2^53. Without `long`,
// protobufjs decodes them as plain numbers, which is what the generated types (pbjs --force-number) say.
// This is process-wide for protobufjs/minimal; nothing else in Fedledger relies on Long values.
$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
