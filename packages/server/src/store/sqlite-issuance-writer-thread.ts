// The SQLite issuance writer's thread (see sqlite-issuance-writer.ts): its own connection to
// the store, one transaction per batch of records. Runs nothing else.
import { parentPort, workerData } from 'node:worker_threads';
import BetterSqlite3 from 'better-sqlite3';
import type { ClaimRefusal, IssuanceClaims, IssuanceRecord } from '../domain/issuance/index.js';
import { isUniqueViolation } from './constraint-violations.js';
import { applySqlitePragmas } from './sqlite-pragmas.js';
import { WRITER_READY, type WriterReply, type WriterRequest } from './sqlite-issuance-writer.js';

/** Bounds on the writer's page cache and memory map (SQLite's defaults are 2 MiB and none). */
const WRITER_CACHE_KIB = 64 * 1024;
const WRITER_MMAP_BYTES = 256 * 1024 * 1024;

const port = parentPort;
if (!port) throw new Error('sqlite-issuance-writer-thread runs only as a worker thread');
const database = new BetterSqlite3((workerData as { file: string }).file);
applySqlitePragmas(database);
// Its inserts land on index pages spread over the whole file (fingerprints are random): a page
// cache that holds them, and reads through the memory map, spare the write-ahead log's reads.
database.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
database.pragma(`mmap_size = ${WRITER_MMAP_BYTES}`);

const insertCertificate = database.prepare(
  `INSERT INTO issued_certificates (id, project_id, managed_ca_id, serial, fingerprint_sha256, certificate_id, device_id, channel, not_after, created_at)
   VALUES (@id, @project_id, @managed_ca_id, @serial, @fingerprint_sha256, @certificate_id, @device_id, @channel, @not_after, @created_at)`,
);
const insertInventory = database.prepare(
  `INSERT INTO device_certificates (project_id, fingerprint_sha256, serial_number, issuer, subject, not_before, not_after, ca_id, issuer_ca_id, device_id, source, status, issued_at)
   VALUES (@project_id, @fingerprint_sha256, @serial_number, @issuer, @subject, @not_before, @not_after, @ca_id, @issuer_ca_id, @device_id, @source, @status, @issued_at)
   ON CONFLICT DO NOTHING`,
);
const insertAudit = database.prepare(
  `INSERT INTO audit_events (project_id, actor, action, target_type, target_id, details, created_at)
   VALUES (@project_id, @actor, @action, @target_type, @target_id, @details, @created_at)`,
);
// An issuance's claims (issuance-record-sink.ts), checked here as the Kysely sink checks them.
const useToken = database.prepare('UPDATE enrollment_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL');
const insertClaim = database.prepare('INSERT INTO enrollment_claims (project_id, certificate_id, token_id, created_at) VALUES (?, ?, ?, ?)');
const deviceByIdentity = database.prepare('SELECT 1 FROM devices WHERE project_id = ? AND (certificate_id = ? OR (name = ? AND certificate_id IS NULL)) LIMIT 1');
const issuedByIdentity = database.prepare('SELECT 1 FROM issued_certificates WHERE project_id = ? AND certificate_id = ? LIMIT 1');
const insertCmpTransaction = database.prepare(
  `INSERT INTO cmp_transactions (project_id, transaction_id, requester, request_type, state, certificate_fingerprint, certificate_der, created_at, confirm_by)
   VALUES (@project_id, @transaction_id, @requester, @request_type, @state, @certificate_fingerprint, @certificate_der, @created_at, @confirm_by)`,
);
const refused = (code: ClaimRefusal): Error => Object.assign(new Error(`issuance claim refused: ${code}`), { code });
const applyClaims = (claims: IssuanceClaims): void => {
  if (claims.tokenUse && useToken.run(claims.tokenUse.usedAt, claims.tokenUse.tokenId).changes !== 1) throw refused('ENROLLMENT_TOKEN_USED');
  if (claims.newIdentity) {
    const { projectId, certificateId, tokenId, createdAt } = claims.newIdentity;
    try {
      insertClaim.run(projectId, certificateId, tokenId, createdAt);
    } catch (error) {
      throw isUniqueViolation(error) ? refused('CERTIFICATE_ID_TAKEN') : error;
    }
    if (deviceByIdentity.get(projectId, certificateId, certificateId) !== undefined || issuedByIdentity.get(projectId, certificateId) !== undefined) throw refused('CERTIFICATE_ID_TAKEN');
  }
  if (claims.cmpTransaction) {
    try {
      insertCmpTransaction.run(claims.cmpTransaction);
    } catch (error) {
      throw isUniqueViolation(error) ? refused('CMP_TRANSACTION_ID_IN_USE') : error;
    }
  }
};
const insertRecord = (record: IssuanceRecord): void => {
  if (record.claims) applyClaims(record.claims);
  insertCertificate.run(record.certificate);
  insertInventory.run(record.inventory);
  insertAudit.run(record.audit);
};
// BEGIN IMMEDIATE takes the write lock up front, so a batch waits for another writer (a cluster
// sibling, the request path) in the busy handler instead of failing halfway through.
const commitAll = database.transaction((records: readonly IssuanceRecord[]) => {
  for (const record of records) insertRecord(record);
});
// Nested in commitEach, a savepoint per record: a refused one is undone alone, the rest commit together.
const commitOne = database.transaction(insertRecord);
const commitEach = database.transaction((records: readonly IssuanceRecord[]) =>
  records.map((record) => {
    try {
      commitOne(record);
      return undefined;
    } catch (error) {
      return failure(error);
    }
  }),
);

function failure(error: unknown): { message: string; code?: string } {
  const { message, code } = error as { message?: unknown; code?: unknown };
  return { message: typeof message === 'string' ? message : String(error), ...(typeof code === 'string' ? { code } : {}) };
}

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'close') {
    database.close();
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    commitAll.immediate(request.records);
    reply = { id: request.id, outcomes: request.records.map(() => undefined) };
  } catch {
    // Some record was refused: each in a savepoint of its own, so only that one fails.
    try {
      reply = { id: request.id, outcomes: commitEach.immediate(request.records) };
    } catch (again) {
      // The store itself failed (disk full, locked past the busy timeout): nothing was stored.
      reply = { id: request.id, outcomes: request.records.map(() => failure(again)) };
    }
  }
  port.postMessage(reply);
});
port.postMessage(WRITER_READY);
