/** Turns a domain message into bytes and back. Decoding failures throw; the transport dead-letters them. */
export interface MessageCodec<T> {
  /** Fully qualified message name, for error messages and dead-letter headers. */
  readonly typeName: string;
  encode(message: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** The shape protobufjs static-module classes have. */
export interface ProtobufType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(reader: Uint8Array): T;
  verify(message: Record<string, unknown>): string | null;
  getTypeUrl?(prefix?: string): string;
}

/** A codec over a generated protobufjs message class; decoded messages are also checked with `verify`. */
export function protobufCodec<T>(type: ProtobufType<T>, typeName?: string): MessageCodec<T> {
  const name = typeName ?? type.getTypeUrl?.('').replace(/^\//, '') ?? 'protobuf message';
  return {
    typeName: name,
    encode: (message) => type.encode(message).finish(),
    decode: (bytes) => {
      const message = type.decode(bytes);
      const problem = type.verify(message as unknown as Record<string, unknown>);
      if (problem) throw new Error(`invalid ${name}: ${problem}`);
      return message;
    },
  };
}

/** Raw bytes, for handlers that take the payload as it is. */
export const bytesCodec: MessageCodec<Uint8Array> = {
  typeName: 'bytes',
  encode: (message) => message,
  decode: (bytes) => bytes,
};
