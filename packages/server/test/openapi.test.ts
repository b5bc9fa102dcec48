import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { managementApiDocument } from '@fleetpki/server';
import { startTestApi, type TestApi } from './helpers/api.js';

describe('OpenAPI document', () => {
  let api: TestApi;
  before(async () => {
    api = await startTestApi('sqlite');
  });
  after(() => api.close());

  it('describes every route of DESIGN §5 with its schemas and the x-api-key scheme', async () => {
    const doc = await api.call('GET', '/openapi.json', { key: null });
    assert.equal(doc.status, 200);
    assert.match(doc.body['openapi'] as string, /^3\.0\./);
    const paths = doc.body['paths'] as Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
    const expected: Record<string, string[]> = {
      '/v1/projects': ['get', 'post'],
      '/v1/projects/{projectId}': ['delete', 'get', 'patch'],
      '/v1/projects/{projectId}/certificates': ['get', 'post'],
      '/v1/projects/{projectId}/certificates/{certificateId}': ['delete', 'get', 'patch'],
      '/v1/projects/{projectId}/devices': ['get', 'post'],
      '/v1/projects/{projectId}/devices/{deviceId}': ['delete', 'get', 'patch'],
      '/v1/projects/{projectId}/api-keys': ['get', 'post'],
      '/v1/projects/{projectId}/api-keys/{apiKeyId}': ['delete'],
      '/v1/projects/{projectId}/audit': ['get'],
      '/v1/server-ca': ['get'],
    };
    for (const [path, methods] of Object.entries(expected)) {
      assert.deepEqual(Object.keys(paths[path] ?? {}).sort(), methods, path);
    }
    assert.deepEqual(doc.body['components'].securitySchemes.ApiKey, { type: 'apiKey', in: 'header', name: 'x-api-key' });
    for (const name of ['Project', 'CaCertificate', 'CertificateContent', 'Device', 'ApiKey', 'AuditEvent', 'Problem']) {
      assert.ok(doc.body['components'].schemas[name], name);
    }
    const upload = paths['/v1/projects/{projectId}/certificates']?.['post'];
    assert.ok(upload?.responses['201'] && upload.responses['207'] && upload.responses['422']);
  });

  // The clients' generated types come from the in-process document: it must be the served one.
  it('is what managementApiDocument() builds without a store or a listener', async () => {
    const served = await api.call('GET', '/openapi.json', { key: null });
    assert.deepEqual(await managementApiDocument(), served.body);
  });
});
