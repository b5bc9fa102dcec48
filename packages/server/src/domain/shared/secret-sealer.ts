/**
 * The domain's port for secrets at rest (managed CAs' private keys, devices' pre-shared keys):
 * the domain says what to seal and the context that binds it to its row; how it is sealed is the
 * platform's business, implemented once (platform/master-key-sealer.ts, under the master key).
 * Opening answers a result instead of throwing, so each room says in its own codes why a secret
 * it needs is unusable.
 */
export type OpenedSecret = { readonly ok: true; readonly value: Buffer } | { readonly ok: false; readonly failure: 'format' | 'key' };

export interface SecretSealer {
  /** Sealed as bytes, for binary columns (CA keys). */
  sealBytes(plaintext: Buffer, context: string): Buffer;
  openBytes(sealed: Buffer, context: string): OpenedSecret;
  /** Sealed as text, for text columns (pre-shared keys). */
  sealText(plaintext: Buffer, context: string): string;
  openText(sealed: string, context: string): OpenedSecret;
}
