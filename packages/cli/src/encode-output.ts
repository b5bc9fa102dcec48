import type { KeyObject } from 'node:crypto';
import { encodePem, PRIVATE_KEY_PEM_LABELS, privateKeyDer, type PrivateKeyFormat } from '@fleetpki/pki';
import type { OutputFormat } from './options.js';

export function encodePrivateKey(key: KeyObject, format: OutputFormat): Buffer | string {
  const { der, format: syntax } = privateKeyDer(key);
  return encodePrivateKeyDer(der, syntax, format);
}

export function encodePrivateKeyDer(der: Buffer, syntax: PrivateKeyFormat, format: OutputFormat): Buffer | string {
  return format === 'der' ? der : encodePem(PRIVATE_KEY_PEM_LABELS[syntax], der);
}

export function encodeCertificate(der: Buffer, format: OutputFormat): Buffer | string {
  return format === 'der' ? der : encodePem('CERTIFICATE', der);
}

export function encodeCsr(der: Buffer, format: OutputFormat): Buffer | string {
  return format === 'der' ? der : encodePem('CERTIFICATE REQUEST', der);
}
