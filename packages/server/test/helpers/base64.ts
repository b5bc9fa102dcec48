/** Certificate uploads carry the PEM or DER file base64-encoded (`certFile`), as the API takes it. */
export const base64 = (text: string | Buffer): string => Buffer.from(text).toString('base64');
