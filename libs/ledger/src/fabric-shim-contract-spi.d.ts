/** fabric-shim's in-process contract dispatcher (what `fabric-chaincode-node start` runs); it ships no types. */
declare module 'fabric-shim/lib/contract-spi/chaincodefromcontract' {
  interface ChaincodeResponse {
    status: number;
    message?: string;
    payload?: Buffer;
  }
  class ChaincodeFromContract {
    constructor(contractClasses: Array<new () => unknown>, serializers: unknown, metadata?: unknown, title?: string, version?: string);
    Invoke(stub: unknown): Promise<ChaincodeResponse>;
  }
  export = ChaincodeFromContract;
}
